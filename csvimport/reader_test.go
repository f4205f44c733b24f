package csvimport

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// readAll drains a Reader, separating rows, row errors and a fatal error.
type readResult struct {
	header    []string
	encoding  string
	separator rune
	rows      []Row
	rowErrs   []*RowError
	fatal     error
}

func readAll(t *testing.T, data []byte) readResult {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return readResult{fatal: err}
	}
	res := readResult{header: rd.Header(), encoding: rd.Encoding(), separator: rd.Separator()}
	for range 1_000_000 {
		row, err := rd.Next()
		var rowErr *RowError
		switch {
		case errors.Is(err, io.EOF):
			if got := rd.BytesRead(); got != int64(len(data)) {
				t.Errorf("BytesRead at EOF = %d, want file size %d", got, len(data))
			}
			return res
		case errors.As(err, &rowErr):
			res.rowErrs = append(res.rowErrs, rowErr)
		case err != nil:
			res.fatal = err
			return res
		default:
			res.rows = append(res.rows, row)
		}
	}
	t.Fatal("reader did not reach EOF")
	return res
}

func utf16With(t *testing.T, e unicode.Endianness, s string) []byte {
	t.Helper()
	out, err := unicode.UTF16(e, unicode.UseBOM).NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(out)
}

func utf16Without(t *testing.T, e unicode.Endianness, s string) []byte {
	t.Helper()
	out, err := unicode.UTF16(e, unicode.IgnoreBOM).NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(out)
}

func windows1252(t *testing.T, s string) []byte {
	t.Helper()
	out, err := charmap.Windows1252.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(out)
}

func TestReader(t *testing.T) {
	t.Parallel()
	type rowWant struct {
		line   int
		fields []string
	}
	const nameFile = "name,phone\nJosé,+5511987654321\nZoë,+442079460958\n"
	nameRows := []rowWant{{2, []string{"José", "+5511987654321"}}, {3, []string{"Zoë", "+442079460958"}}}
	tests := []struct {
		name      string
		data      func(t *testing.T) []byte
		encoding  string
		separator rune
		header    []string
		rows      []rowWant
		errLines  []int
	}{
		{
			name:     "plain utf-8",
			data:     func(*testing.T) []byte { return []byte(nameFile) },
			encoding: EncodingUTF8, separator: ',', header: []string{"name", "phone"}, rows: nameRows,
		},
		{
			name:     "utf-8 with BOM",
			data:     func(*testing.T) []byte { return append([]byte{0xEF, 0xBB, 0xBF}, nameFile...) },
			encoding: EncodingUTF8BOM, separator: ',', header: []string{"name", "phone"}, rows: nameRows,
		},
		{
			name:     "utf-16le with BOM",
			data:     func(t *testing.T) []byte { return utf16With(t, unicode.LittleEndian, nameFile) },
			encoding: EncodingUTF16LE, separator: ',', header: []string{"name", "phone"}, rows: nameRows,
		},
		{
			name:     "utf-16be with BOM",
			data:     func(t *testing.T) []byte { return utf16With(t, unicode.BigEndian, nameFile) },
			encoding: EncodingUTF16BE, separator: ',', header: []string{"name", "phone"}, rows: nameRows,
		},
		{
			name: "utf-16le without BOM, tab separated (Excel Unicode text)",
			data: func(t *testing.T) []byte {
				return utf16Without(t, unicode.LittleEndian, strings.ReplaceAll(nameFile, ",", "\t"))
			},
			encoding: EncodingUTF16LE, separator: '\t', header: []string{"name", "phone"}, rows: nameRows,
		},
		{
			name: "latin-1 / windows-1252 accents",
			data: func(t *testing.T) []byte {
				return windows1252(t, "nome;telefone\nJosé Müller;11987654321\nFrançois;11912345678\n")
			},
			encoding: EncodingWindows1252, separator: ';', header: []string{"nome", "telefone"},
			rows: []rowWant{{2, []string{"José Müller", "11987654321"}}, {3, []string{"François", "11912345678"}}},
		},
		{
			name:     "semicolon with decimal commas in values",
			data:     func(*testing.T) []byte { return []byte("Nome;Valor;Telefone\nAna;R$ 1,50;1199\nBia;2,75;1188\n") },
			encoding: EncodingUTF8, separator: ';', header: []string{"Nome", "Valor", "Telefone"},
			rows: []rowWant{{2, []string{"Ana", "R$ 1,50", "1199"}}, {3, []string{"Bia", "2,75", "1188"}}},
		},
		{
			name:     "tab separated",
			data:     func(*testing.T) []byte { return []byte("name\tphone\tnote\nAna\t1\tx, y\nBo\t2\tz\n") },
			encoding: EncodingUTF8, separator: '\t', header: []string{"name", "phone", "note"},
			rows: []rowWant{{2, []string{"Ana", "1", "x, y"}}, {3, []string{"Bo", "2", "z"}}},
		},
		{
			name:     "pipe separated",
			data:     func(*testing.T) []byte { return []byte("name|phone\nAna|1\nBo|2\n") },
			encoding: EncodingUTF8, separator: '|', header: []string{"name", "phone"},
			rows: []rowWant{{2, []string{"Ana", "1"}}, {3, []string{"Bo", "2"}}},
		},
		{
			name: "comma file whose quoted values hold semicolons",
			data: func(*testing.T) []byte {
				return []byte("name,phone,tags\n\"Ana; Bia\",1,\"a;b;c\"\n\"Bo;\",2,\"d;e\"\n")
			},
			encoding: EncodingUTF8, separator: ',', header: []string{"name", "phone", "tags"},
			rows: []rowWant{{2, []string{"Ana; Bia", "1", "a;b;c"}}, {3, []string{"Bo;", "2", "d;e"}}},
		},
		{
			name: "quoted embedded newlines keep following line numbers right",
			data: func(*testing.T) []byte {
				return []byte("name,note\nAna,\"line one\nline two\nline three\"\nBo,plain\n\"Cy\r\nCarr\",x\r\nDi,y\n")
			},
			encoding: EncodingUTF8, separator: ',', header: []string{"name", "note"},
			rows: []rowWant{
				{2, []string{"Ana", "line one\nline two\nline three"}},
				{5, []string{"Bo", "plain"}},
				{6, []string{"Cy\nCarr", "x"}},
				{8, []string{"Di", "y"}},
			},
		},
		{
			name:     "blank lines are skipped but counted",
			data:     func(*testing.T) []byte { return []byte("\n\nname,phone\n\nAna,1\n\n\r\nBo,2\n\n") },
			encoding: EncodingUTF8, separator: ',', header: []string{"name", "phone"},
			rows: []rowWant{{5, []string{"Ana", "1"}}, {8, []string{"Bo", "2"}}},
		},
		{
			name:     "wrong field count is reported and reading continues",
			data:     func(*testing.T) []byte { return []byte("name,phone,city\nAna,1\nBo,2,Rio\nCy,3,SP,extra\nDi,4,BH,\n") },
			encoding: EncodingUTF8, separator: ',', header: []string{"name", "phone", "city"},
			rows:     []rowWant{{3, []string{"Bo", "2", "Rio"}}, {5, []string{"Di", "4", "BH"}}},
			errLines: []int{2, 4},
		},
		{
			name:     "header only yields no rows",
			data:     func(*testing.T) []byte { return []byte("First Name,Phone\r\n") },
			encoding: EncodingUTF8, separator: ',', header: []string{"First Name", "Phone"},
		},
		{
			name:     "header only without newline",
			data:     func(*testing.T) []byte { return []byte("First Name;Phone") },
			encoding: EncodingUTF8, separator: ';', header: []string{"First Name", "Phone"},
		},
		{
			name:     "header names trimmed, blanks named, repeats numbered",
			data:     func(*testing.T) []byte { return []byte(" Phone ,,phone,Phone\n1,2,3,4\n") },
			encoding: EncodingUTF8, separator: ',', header: []string{"Phone", "Column 2", "phone (2)", "Phone (3)"},
			rows: []rowWant{{2, []string{"1", "2", "3", "4"}}},
		},
		{
			name:     "stray quotes inside unquoted fields are kept",
			data:     func(*testing.T) []byte { return []byte("name,phone\nAna \"Bia\" Souza,1\n5\" screen,2\n") },
			encoding: EncodingUTF8, separator: ',', header: []string{"name", "phone"},
			rows: []rowWant{{2, []string{`Ana "Bia" Souza`, "1"}}, {3, []string{`5" screen`, "2"}}},
		},
		{
			name:     "classic Mac CR line endings",
			data:     func(*testing.T) []byte { return []byte("name,phone\rAna,1\r\"Bo\rBoss\",2\rCy,3\r") },
			encoding: EncodingUTF8, separator: ',', header: []string{"name", "phone"},
			rows: []rowWant{{2, []string{"Ana", "1"}}, {3, []string{"Bo\nBoss", "2"}}, {5, []string{"Cy", "3"}}},
		},
		{
			name:     "single column file",
			data:     func(*testing.T) []byte { return []byte("phone\n+5511987654321\n+442079460958\n") },
			encoding: EncodingUTF8, separator: ',', header: []string{"phone"},
			rows: []rowWant{{2, []string{"+5511987654321"}}, {3, []string{"+442079460958"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := readAll(t, tt.data(t))
			if res.fatal != nil {
				t.Fatalf("unexpected error: %v", res.fatal)
			}
			if res.encoding != tt.encoding {
				t.Errorf("encoding = %q, want %q", res.encoding, tt.encoding)
			}
			if res.separator != tt.separator {
				t.Errorf("separator = %q, want %q", res.separator, tt.separator)
			}
			if !reflect.DeepEqual(res.header, tt.header) {
				t.Errorf("header = %q, want %q", res.header, tt.header)
			}
			var got []rowWant
			for _, r := range res.rows {
				got = append(got, rowWant{r.Line, r.Fields})
			}
			if !reflect.DeepEqual(got, tt.rows) {
				t.Errorf("rows =\n%v\nwant\n%v", got, tt.rows)
			}
			var lines []int
			for _, e := range res.rowErrs {
				lines = append(lines, e.Line)
				if !strings.Contains(e.Error(), "fields but the header has") {
					t.Errorf("row error %q should explain the field count", e)
				}
			}
			if !reflect.DeepEqual(lines, tt.errLines) {
				t.Errorf("row error lines = %v, want %v", lines, tt.errLines)
			}
		})
	}
}

func TestReaderRepairsLatin1CellAfterPrefix(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("name,phone\n")
	rows := 0
	for b.Len() < sniffSize+100 {
		b.WriteString("Ana,1\n")
		rows++
	}
	b.Write(windows1252(t, "José,2\n"))
	res := readAll(t, b.Bytes())
	if res.fatal != nil {
		t.Fatal(res.fatal)
	}
	last := res.rows[len(res.rows)-1]
	if last.Fields[0] != "José" || last.Line != rows+2 {
		t.Errorf("last row = %+v, want José on line %d", last, rows+2)
	}
}

func TestReaderRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"empty file", nil, ErrEmptyFile, "empty"},
		{"only blank lines", []byte("\n\r\n\n"), ErrEmptyFile, "header row"},
		{"only a BOM", []byte{0xEF, 0xBB, 0xBF}, ErrEmptyFile, "empty"},
		{"only spaces", []byte("   \n"), ErrEmptyFile, "empty"},
		{"xlsx workbook", []byte("PK\x03\x04\x14\x00\x06\x00rest"), ErrNotCSV, "save it as CSV"},
		{"xls workbook", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), ErrNotCSV, ".xls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewReader(bytes.NewReader(tt.data))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("NewReader error = %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestReaderUnbalancedQuoteIsBoundedAndFatal(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("name,phone\nAna,1\n\"Bo,2\n")
	for b.Len() < 3*maxRecordBytes {
		b.WriteString("Cy,3\n")
	}
	rd, err := NewReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if row, err := rd.Next(); err != nil || row.Line != 2 {
		t.Fatalf("first row = %+v, %v", row, err)
	}
	_, err = rd.Next()
	var rowErr *RowError
	if !errors.Is(err, ErrRecordTooLarge) || errors.As(err, &rowErr) {
		t.Fatalf("error = %v, want fatal ErrRecordTooLarge that is not a *RowError", err)
	}
	if !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error %q should point at line 3", err)
	}
	if _, again := rd.Next(); !errors.Is(again, ErrRecordTooLarge) {
		t.Errorf("fatal error should repeat, got %v", again)
	}
	if rd.BytesRead() >= int64(b.Len()) {
		t.Errorf("reader consumed the whole file (%d bytes) instead of stopping early", rd.BytesRead())
	}
}

func TestBytesReadProgresses(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("name,phone\n")
	for b.Len() < 4*sniffSize {
		b.WriteString("Somebody With A Long Name,+5511987654321\n")
	}
	rd, err := NewReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	start := rd.BytesRead()
	if start <= 0 || start > int64(b.Len()) {
		t.Fatalf("BytesRead after header = %d", start)
	}
	for {
		if _, err := rd.Next(); err != nil {
			break
		}
	}
	if end := rd.BytesRead(); end != int64(b.Len()) || end <= start {
		t.Errorf("BytesRead at end = %d (start %d), want %d", end, start, b.Len())
	}
}

func TestPreview(t *testing.T) {
	t.Parallel()
	data := "name;phone\nAna;1\nbroken\nBo;2\nCy;3\nDi;4\n"
	tests := []struct {
		n         int
		wantLines []int
	}{
		{0, nil},
		{2, []int{2, 4}},
		{3, []int{2, 4, 5}},
		{10, []int{2, 4, 5, 6}},
	}
	for _, tt := range tests {
		header, rows, err := Preview(strings.NewReader(data), tt.n)
		if err != nil {
			t.Fatalf("Preview(%d): %v", tt.n, err)
		}
		if !reflect.DeepEqual(header, []string{"name", "phone"}) {
			t.Errorf("header = %q", header)
		}
		var lines []int
		for _, r := range rows {
			lines = append(lines, r.Line)
		}
		if !reflect.DeepEqual(lines, tt.wantLines) {
			t.Errorf("Preview(%d) lines = %v, want %v", tt.n, lines, tt.wantLines)
		}
	}
	if _, _, err := Preview(strings.NewReader(""), 5); !errors.Is(err, ErrEmptyFile) {
		t.Errorf("Preview of empty file: %v, want ErrEmptyFile", err)
	}
}
