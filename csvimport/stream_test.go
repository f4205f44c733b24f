package csvimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

// generator produces a contact CSV of rows rows on the fly, so a large file
// can be read without ever existing in memory.
type generator struct {
	rows, next int
	buf        bytes.Buffer
}

func newGenerator(rows int) *generator {
	g := &generator{rows: rows}
	g.buf.WriteString("Customer ID,First Name,Last Name,Email,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Tags,Note,Created At\n")
	return g
}

func (g *generator) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && g.next < g.rows {
		i := g.next
		g.next++
		fmt.Fprintf(&g.buf, "%d,Maria %d,Oliveira da Silva,maria.%d@example.com,+55 11 9%08d,yes,\"1.%03d,50\",%d,\"vip, wave %d\",\"Prefers evenings,\nasked about size M\",2024-03-05 14:22:01 -0300\n",
			i, i, i, i%100_000_000, i%1000, i%50, i%7)
	}
	if g.buf.Len() == 0 {
		return 0, io.EOF
	}
	return g.buf.Read(p)
}

// TestReaderMemoryIsFlat streams ~50 MB and checks the live heap stays small.
// Not parallel, so other tests do not disturb the heap measurements.
func TestReaderMemoryIsFlat(t *testing.T) {
	const rows = 300_000 // ≈ 50 MB of CSV
	const limit = 32 << 20
	if testing.Short() {
		t.Skip("streams 50 MB")
	}
	var before, now runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	gen := newGenerator(rows)
	start := time.Now()
	rd, err := NewReader(gen)
	if err != nil {
		t.Fatal(err)
	}
	m := GuessMapping(rd.Header())
	read, peak := 0, uint64(0)
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d rows: %v", read, err)
		}
		read++
		if read%100 == 0 { // normalise a sample too, as the import job will
			if _, err := m.Contact(rd.Header(), row, Options{DefaultCountry: "BR"}); err != nil {
				t.Fatalf("line %d: %v", row.Line, err)
			}
		}
		if read%20_000 == 0 {
			runtime.ReadMemStats(&now)
			peak = max(peak, now.HeapAlloc)
		}
	}
	runtime.ReadMemStats(&now)
	peak = max(peak, now.HeapAlloc)
	if read != rows {
		t.Fatalf("read %d rows, want %d", read, rows)
	}
	if rd.BytesRead() < 45<<20 {
		t.Fatalf("only %d bytes streamed; the test should cover ~50 MB", rd.BytesRead())
	}
	growth := int64(peak) - int64(before.HeapAlloc)
	t.Logf("%d rows, %d MB in %v; peak heap growth %.1f MB", read, rd.BytesRead()>>20, time.Since(start), float64(growth)/(1<<20))
	if growth > limit {
		t.Errorf("heap grew by %d MB while streaming, want < %d MB", growth>>20, limit>>20)
	}
}

func BenchmarkReader(b *testing.B) {
	const rows = 100_000
	data, err := io.ReadAll(newGenerator(rows))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkContact measures normalisation, the other per-row cost of an import.
func BenchmarkContact(b *testing.B) {
	rd, err := NewReader(newGenerator(1))
	if err != nil {
		b.Fatal(err)
	}
	row, err := rd.Next()
	if err != nil {
		b.Fatal(err)
	}
	m := GuessMapping(rd.Header())
	for b.Loop() {
		if _, err := m.Contact(rd.Header(), row, Options{DefaultCountry: "BR"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func FuzzReader(f *testing.F) {
	seeds := []string{
		"",
		"name,phone\nAna,+5511987654321\n",
		"\xEF\xBB\xBFNome;Celular\nJosé;(11) 98765-4321\n",
		"\xFF\xFEn\x00,\x00p\x00\n\x00",
		"\xFE\xFF\x00n\x00,\x00p\x00\n",
		"First Name,Phone,Tags,Total Spent,Created At\n\"A\nB\",5.51199E+12,\"x;y\",\"R$ 1,00\",31/02/2024\n",
		"a|b\n\"unterminated|x\n",
		"Nom\tPortable\nDupont\t06 12 34 56 78\n\n\n",
		"PK\x03\x04",
		"Phone\n" + string([]byte{0xE9, 0xE8}) + "\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		header := rd.Header()
		m := GuessMapping(header)
		_ = m.Validate(header)
		for range 1000 {
			row, err := rd.Next()
			if err != nil {
				var rowErr *RowError
				if errors.As(err, &rowErr) {
					if rowErr.Line < 1 {
						t.Fatalf("row error without a line: %v", err)
					}
					continue
				}
				return
			}
			if row.Line < 1 || len(row.Fields) != len(header) {
				t.Fatalf("bad row %+v for header %q", row, header)
			}
			c, err := m.Contact(header, row, Options{DefaultCountry: "BR"})
			if err == nil && c.Phone == "" && m.Validate(header) == nil {
				t.Fatalf("contact without phone accepted: %+v", c)
			}
		}
	})
}
