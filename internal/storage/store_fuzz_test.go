package storage

import (
	"math"
	"strconv"
	"testing"
)

// FuzzParseRV feeds resourceVersions, as list and watch take them, to ParseRV. What it
// accepts is a revision of 0 or more that formats back to itself; it accepts every
// decimal revision upstream accepts (strconv.ParseUint) that fits an etcd revision.
func FuzzParseRV(f *testing.F) {
	for _, rv := range []string{"", "0", "1", "42", "007", "+5", "-1", " 1", "1e3", "0x10", "9223372036854775807", "9223372036854775808", "18446744073709551615", "١٢"} {
		f.Add(rv)
	}
	f.Fuzz(func(t *testing.T, rv string) {
		n, err := ParseRV(rv)
		if u, uerr := strconv.ParseUint(rv, 10, 64); uerr == nil && u <= math.MaxInt64 && (err != nil || n != int64(u)) {
			t.Fatalf("ParseRV(%q) = %d, %v; want %d", rv, n, err, u)
		}
		if err != nil {
			return
		}
		if n < 0 || (rv == "" && n != 0) {
			t.Fatalf("ParseRV(%q) = %d", rv, n)
		}
		if back, err := ParseRV(strconv.FormatInt(n, 10)); err != nil || back != n {
			t.Fatalf("ParseRV(%q) = %d, which parses back as %d, %v", rv, n, back, err)
		}
	})
}
