package phone

import (
	"regexp"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// The fast path: most imported numbers are already international
// ("+5511987654321"). phonenumbers.Parse spends most of its time on work
// such input cannot need (an extension regex over the whole string,
// re-normalising the digits), so digits that start with a country code are
// split here and only the validity checks go through phonenumbers. Input
// whose national number could carry a national prefix (the one case in
// which phonenumbers.Parse rewrites the digits) takes the full path, so
// both paths give the same answer; TestFastPathMatchesParse checks that.

// nationalPrefixes holds, per country calling code, the anchored regexp of
// its main region's national prefix for parsing (nil when it has none).
// Built once from the library's metadata; read-only afterwards.
var nationalPrefixes = sync.OnceValue(func() map[int]*regexp.Regexp {
	out := map[int]*regexp.Regexp{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return out
	}
	for _, md := range coll.GetMetadata() {
		cc := int(md.GetCountryCode())
		if md.GetId() != phonenumbers.GetRegionCodeForCountryCode(cc) {
			continue // not the main region of its calling code
		}
		if p := md.GetNationalPrefixForParsing(); p != "" {
			if re, err := regexp.Compile("^(?:" + p + ")"); err == nil {
				out[cc] = re
			}
		}
	}
	return out
})

// splitInternational splits digits into a country calling code and a
// national number the way phonenumbers does (calling codes are
// prefix-free), reporting ok=false whenever the full parser could read the
// digits differently.
func splitInternational(digits string) (cc int, national uint64, ok bool) {
	for n := 1; n <= 3 && n < len(digits); n++ {
		code, err := strconv.Atoi(digits[:n])
		if err != nil || code == 0 {
			return 0, 0, false
		}
		region := phonenumbers.GetRegionCodeForCountryCode(code)
		if region == phonenumbers.UNKNOWN_REGION {
			continue
		}
		if region == "001" { // non-geographic entities: rare, full path
			return 0, 0, false
		}
		rest := digits[n:]
		if len(rest) < 2 || len(rest) > 17 || rest[0] == '0' {
			return 0, 0, false
		}
		if re := nationalPrefixes()[code]; re != nil && re.MatchString(rest) {
			return 0, 0, false
		}
		nn, err := strconv.ParseUint(rest, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		return code, nn, true
	}
	return 0, 0, false
}

// fastInternational builds the parsed number for digits that begin with a
// country calling code without phonenumbers.Parse; ok is false when the
// full path must decide.
func fastInternational(digits string) (*phonenumbers.PhoneNumber, bool) {
	cc, nn, ok := splitInternational(digits)
	if !ok {
		return nil, false
	}
	return &phonenumbers.PhoneNumber{CountryCode: proto.Int32(int32(cc)), NationalNumber: proto.Uint64(nn)}, true
}
