// Package csvimport reads contact lists exported from anywhere (Shopify,
// HubSpot, spreadsheets in any locale) as a stream, guesses how their columns
// map to Herald contact fields, and normalises each row into a Contact.
//
// Memory stays flat whatever the file size: the file is read once, front to
// back, one record at a time. Encoding and separator are decided once from a
// prefix of the file.
package csvimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encodings reported by Reader.Encoding.
const (
	EncodingUTF8    = "utf-8"
	EncodingUTF8BOM = "utf-8-bom"
	EncodingUTF16LE = "utf-16le"
	EncodingUTF16BE = "utf-16be"
	// EncodingWindows1252 is used for any prefix that is not valid UTF-8. It is
	// a superset of Latin-1 (ISO-8859-1) for printable text, which is what
	// Excel on Windows writes for Western European languages.
	EncodingWindows1252 = "windows-1252"
)

const (
	// sniffSize is how much of the file is inspected to decide the encoding
	// and separator.
	sniffSize = 64 << 10
	// sniffRecords is how many records the separator guess looks at.
	sniffRecords = 50
	// maxRecordBytes bounds one record so an unbalanced quote or a file with
	// no line breaks cannot pull the whole file into memory.
	maxRecordBytes = 1 << 20
)

// Errors returned by NewReader and Next. They are wrapped with context.
var (
	// ErrEmptyFile means the file has no header row (no bytes, or only blank lines).
	ErrEmptyFile = errors.New("the file is empty: expected a header row with column names")
	// ErrNotCSV means the upload is a spreadsheet workbook or other binary file.
	ErrNotCSV = errors.New("this is not a CSV file")
	// ErrRecordTooLarge means one record exceeded the size limit, usually
	// because a quote was opened and never closed.
	ErrRecordTooLarge = errors.New("a row is larger than 1 MB; the file probably has an unbalanced quote (\")")
)

// Row is one data record.
type Row struct {
	// Line is the 1-based physical line in the file where the record starts.
	// A quoted field with embedded line breaks makes a record span lines; the
	// next row's Line accounts for them.
	Line int
	// Fields are the raw cell values, one per header column.
	Fields []string
}

// RowError describes a problem with one row. The import continues after it.
type RowError struct {
	Line int
	Msg  string
}

// Error implements error.
func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Reader streams the rows of a contact CSV file.
type Reader struct {
	counter   *countingReader
	guard     *recordGuard
	csv       *csv.Reader
	header    []string
	encoding  string
	separator rune
	lastLine  int   // line of the last record read, for errors without a position
	fatal     error // sticky error once the stream is unusable
}

// NewReader sniffs the encoding and separator from the first 64 KB of r,
// then reads the header row. The header names are trimmed; empty names
// become "Column N" and repeated names get " (2)", " (3)"… so that every
// column can be addressed by name in a Mapping.
func NewReader(r io.Reader) (*Reader, error) {
	counter := &countingReader{r: r}
	buf := bufio.NewReaderSize(counter, sniffSize)
	prefix, err := buf.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("csvimport: read: %w", err)
	}
	atEOF := err != nil && errors.Is(err, io.EOF)
	if err := rejectBinary(prefix); err != nil {
		return nil, err
	}

	name, bomLen, dec := detectEncoding(prefix, atEOF)
	if _, err := buf.Discard(bomLen); err != nil {
		return nil, fmt.Errorf("csvimport: read: %w", err)
	}
	text := decodePrefix(prefix[bomLen:], dec)
	sep := detectSeparator(text, atEOF)

	var decoded io.Reader = buf
	if dec != nil {
		decoded = transform.NewReader(buf, dec.NewDecoder())
	}
	if strings.Contains(text, "\r") && !strings.Contains(text, "\n") {
		// Classic Mac line endings (Excel for Mac "CSV (Macintosh)"), which
		// encoding/csv does not treat as line breaks.
		decoded = crToLF{decoded}
	}
	guard := &recordGuard{r: decoded}
	cr := csv.NewReader(guard)
	cr.Comma = sep
	cr.FieldsPerRecord = -1 // checked against the header by Next, so it is not fatal
	cr.LazyQuotes = true    // spreadsheets write `Ana "Bia" Souza` unescaped

	rd := &Reader{counter: counter, guard: guard, csv: cr, encoding: name, separator: sep}
	header, err := rd.csv.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("csvimport: %w", ErrEmptyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("csvimport: header: %w", rd.describe(err))
	}
	rd.recordDone(len(header))
	header = fixFields(header)
	if len(header) == 1 && header[0] == "" {
		return nil, fmt.Errorf("csvimport: %w", ErrEmptyFile)
	}
	rd.header = uniqueHeader(header)
	return rd, nil
}

// Header returns the column names of the file.
func (r *Reader) Header() []string { return r.header }

// Encoding returns the detected text encoding, one of the Encoding* constants.
func (r *Reader) Encoding() string { return r.encoding }

// Separator returns the detected field separator: ',', ';', '\t' or '|'.
func (r *Reader) Separator() rune { return r.separator }

// BytesRead returns how many bytes have been read from the underlying reader,
// for progress bars. It runs ahead of the rows returned so far by at most the
// read buffers (about 70 KB) and equals the file size at the end. It is safe
// to call from another goroutine.
func (r *Reader) BytesRead() int64 { return r.counter.n.Load() }

// Next returns the next row. It returns io.EOF after the last row, and a
// *RowError for a row with the wrong number of fields; the caller may keep
// calling Next after a *RowError. Any other error is fatal, is never a
// *RowError, and is returned again by later calls.
// Blank lines are skipped. Extra trailing empty fields (a trailing separator)
// are dropped rather than reported.
func (r *Reader) Next() (Row, error) {
	if r.fatal != nil {
		return Row{}, r.fatal
	}
	fields, err := r.csv.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		r.fatal = fmt.Errorf("csvimport: %w", r.describe(err))
		return Row{}, r.fatal
	}
	line, _ := r.csv.FieldPos(0)
	r.recordDone(len(fields))
	fields = fixFields(fields)
	for len(fields) > len(r.header) && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	if len(fields) != len(r.header) {
		return Row{}, &RowError{Line: line, Msg: fmt.Sprintf(
			"has %d fields but the header has %d columns (check for a missing or extra %s)",
			len(fields), len(r.header), separatorName(r.separator))}
	}
	return Row{Line: line, Fields: fields}, nil
}

// recordDone notes the end of a record of n fields, for the size guard and
// for locating a later fatal error.
func (r *Reader) recordDone(n int) {
	r.guard.recordStart = r.csv.InputOffset()
	if n > 0 {
		r.lastLine, _ = r.csv.FieldPos(n - 1)
	}
}

// describe adds a line number to a fatal read error. Fatal errors are never
// *RowError, so a caller that continues after a *RowError cannot loop.
func (r *Reader) describe(err error) error {
	if errors.Is(err, ErrRecordTooLarge) {
		return fmt.Errorf("line %d: %w", r.lastLine+1, ErrRecordTooLarge)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return err // its message carries the line
	}
	return fmt.Errorf("read: %w", err)
}

// Preview reads the header and up to n valid rows, skipping malformed rows,
// for the mapping screen.
func Preview(r io.Reader, n int) (header []string, rows []Row, err error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, nil, err
	}
	for len(rows) < n {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			continue
		}
		if err != nil {
			return rd.Header(), rows, err
		}
		rows = append(rows, row)
	}
	return rd.Header(), rows, nil
}

// fixFields trims surrounding spaces and repairs cells that are not valid
// UTF-8: a file detected as UTF-8 from its first 64 KB can still hold
// Windows-1252 bytes further down (lists pasted together), so such a cell is
// decoded as Windows-1252 rather than stored as garbage.
func fixFields(fields []string) []string {
	for i, f := range fields {
		if !utf8.ValidString(f) {
			if s, err := charmap.Windows1252.NewDecoder().String(f); err == nil {
				f = s
			} else {
				f = strings.ToValidUTF8(f, "\uFFFD")
			}
		}
		// NUL is valid UTF-8 but no database text column holds it, and
		// no real cell means it: binary junk pasted into a file.
		f = strings.ReplaceAll(f, "\x00", "")
		fields[i] = strings.TrimSpace(strings.TrimPrefix(f, "\uFEFF"))
	}
	return fields
}

// uniqueHeader names empty columns and disambiguates repeated names.
func uniqueHeader(header []string) []string {
	out := make([]string, len(header))
	seen := make(map[string]int, len(header))
	for i, h := range header {
		if h == "" {
			h = "Column " + strconv.Itoa(i+1)
		}
		key := strings.ToLower(h)
		seen[key]++
		if n := seen[key]; n > 1 {
			h = fmt.Sprintf("%s (%d)", h, n)
		}
		out[i] = h
	}
	return out
}

// rejectBinary refuses workbooks and other binary uploads with a useful hint.
func rejectBinary(prefix []byte) error {
	switch {
	case bytes.HasPrefix(prefix, []byte("PK\x03\x04")):
		return fmt.Errorf("csvimport: %w: it looks like an Excel or OpenDocument workbook (.xlsx/.ods); save it as CSV first", ErrNotCSV)
	case bytes.HasPrefix(prefix, []byte("\xD0\xCF\x11\xE0")):
		return fmt.Errorf("csvimport: %w: it looks like an old Excel workbook (.xls); save it as CSV first", ErrNotCSV)
	case bytes.HasPrefix(prefix, []byte("%PDF")):
		return fmt.Errorf("csvimport: %w: it is a PDF", ErrNotCSV)
	}
	return nil
}

// detectEncoding decides the text encoding from the prefix: a BOM is
// authoritative; otherwise NUL patterns reveal BOM-less UTF-16, valid UTF-8
// is UTF-8, and anything else is Windows-1252.
func detectEncoding(prefix []byte, atEOF bool) (name string, bomLen int, enc encoding.Encoding) {
	switch {
	case bytes.HasPrefix(prefix, []byte{0xEF, 0xBB, 0xBF}):
		return EncodingUTF8BOM, 3, nil
	case bytes.HasPrefix(prefix, []byte{0xFF, 0xFE}):
		return EncodingUTF16LE, 2, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	case bytes.HasPrefix(prefix, []byte{0xFE, 0xFF}):
		return EncodingUTF16BE, 2, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	}
	if even, odd := nulCounts(prefix); len(prefix) >= 4 {
		half := len(prefix) / 2
		switch {
		case odd > half*3/4 && even == 0:
			return EncodingUTF16LE, 0, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
		case even > half*3/4 && odd == 0:
			return EncodingUTF16BE, 0, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
		}
	}
	check := prefix
	if !atEOF {
		// The prefix may end in the middle of a multi-byte character.
		check = trimPartialRune(prefix)
	}
	if utf8.Valid(check) {
		return EncodingUTF8, 0, nil
	}
	return EncodingWindows1252, 0, charmap.Windows1252
}

// nulCounts counts NUL bytes at even and odd offsets.
func nulCounts(b []byte) (even, odd int) {
	for i, c := range b {
		if c == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	return even, odd
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < utf8.RuneSelf {
			return b // ASCII: nothing pending
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// decodePrefix decodes the sniffed bytes for the separator guess.
func decodePrefix(prefix []byte, enc encoding.Encoding) string {
	if enc == nil {
		return string(prefix)
	}
	if len(prefix)%2 == 1 && enc != charmap.Windows1252 {
		prefix = prefix[:len(prefix)-1]
	}
	s, _, err := transform.String(enc.NewDecoder(), string(prefix))
	if err != nil {
		return ""
	}
	return s
}

// separators are the candidates in order of preference for ties.
var separators = []rune{',', ';', '\t', '|'}

// detectSeparator picks the candidate that splits the header into more than
// one column and gives the most following records that same field count;
// ties go to more columns, then to the earlier candidate. Quotes are
// respected because the prefix is parsed with encoding/csv itself.
func detectSeparator(text string, atEOF bool) rune {
	best, bestScore, bestCols := ',', -1, 0
	for _, sep := range separators {
		counts := recordFieldCounts(text, sep, atEOF)
		if len(counts) == 0 || counts[0] < 2 {
			continue
		}
		score := 0
		for _, c := range counts[1:] {
			if c == counts[0] {
				score++
			}
		}
		if score > bestScore || (score == bestScore && counts[0] > bestCols) {
			best, bestScore, bestCols = sep, score, counts[0]
		}
	}
	return best
}

// recordFieldCounts returns the field count of the first records of text.
// The last record is dropped when text is a truncated prefix.
func recordFieldCounts(text string, sep rune, atEOF bool) []int {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = sep
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	var counts []int
	for len(counts) < sniffRecords+1 {
		rec, err := cr.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return counts
			}
			if !atEOF && len(counts) > 1 {
				counts = counts[:len(counts)-1]
			}
			return counts
		}
		counts = append(counts, len(rec))
	}
	return counts
}

func separatorName(sep rune) string {
	switch sep {
	case ',':
		return "comma"
	case ';':
		return "semicolon"
	case '\t':
		return "tab"
	case '|':
		return "pipe (|)"
	}
	return strconv.QuoteRune(sep)
}

// crToLF turns every carriage return into a line feed.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// countingReader counts bytes read from the file, for BytesRead.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// recordGuard sits between the decoded text and encoding/csv and fails the
// read once the current record grows past maxRecordBytes, keeping memory
// bounded on hostile or broken files.
type recordGuard struct {
	r           io.Reader
	delivered   int64
	recordStart int64
}

func (g *recordGuard) Read(p []byte) (int, error) {
	if g.delivered-g.recordStart > maxRecordBytes {
		return 0, ErrRecordTooLarge
	}
	n, err := g.r.Read(p)
	g.delivered += int64(n)
	return n, err
}
