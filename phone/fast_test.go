package phone

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestFastPathMatchesParse proves the international fast path gives the
// same answer as the full phonenumbers.Parse path, over random digits for
// every country calling code (valid, invalid, short and long numbers).
func TestFastPathMatchesParse(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var fast, total int
	for cc := 1; cc < 1000; cc++ {
		if phonenumbers.GetRegionCodeForCountryCode(cc) == phonenumbers.UNKNOWN_REGION {
			continue
		}
		for range 60 {
			n := 4 + rng.IntN(12)
			digits := strconv.Itoa(cc)
			for range n {
				digits += strconv.Itoa(rng.IntN(10))
			}
			want, wantErr := slowParse("+" + digits)
			num, ok := fastInternational(digits)
			total++
			if !ok {
				continue
			}
			fast++
			got, gotErr := validate(num)
			if got != want || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Fatalf("+%s: fast path = %+v, %v; full path = %+v, %v", digits, got, gotErr, want, wantErr)
			}
		}
	}
	if fast < total/2 {
		t.Fatalf("fast path took only %d of %d numbers", fast, total)
	}
}

// slowParse is parseIn without the fast path.
func slowParse(s string) (Number, error) {
	num, err := phonenumbers.Parse(s, "")
	if err != nil {
		return Number{}, err
	}
	return validate(num)
}

func BenchmarkParseInternational(b *testing.B) {
	nums := make([]string, 1000)
	for i := range nums {
		nums[i] = "+55119" + strconv.Itoa(10000000 + i*7919)[:8]
	}
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(nums[i%len(nums)], ""); err != nil {
			b.Fatal(err)
		}
	}
}
