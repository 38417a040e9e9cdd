package storage

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var continuePrefixes = []string{"/registry/pods/", "/registry/pods/fuzz/"}

// FuzzDecodeContinue feeds continue tokens to decodeContinue, under the prefix of a
// list of all namespaces or of one. A token it refuses is ErrBadContinue (a 400). One it
// accepts gives a revision to read at (or inconsistent) and a start key under the
// prefix that does not climb out of it (no leading slash, no ".." segment), and encodes
// to a token that decodes the same.
func FuzzDecodeContinue(f *testing.F) {
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, token := range []string{
		encodeContinue(5, "/registry/pods/fuzz/p\x00", "/registry/pods/fuzz/"),
		encodeContinue(inconsistent, "/registry/pods/fuzz/p\x00", "/registry/pods/fuzz/"),
		raw(`{"v":"meta.k8s.io/v1","rv":7,"start":"a/b"}`),
		raw(`{"v":"meta.k8s.io/v1","rv":0,"start":"a"}`),
		raw(`{"v":"meta.k8s.io/v1","rv":-2,"start":"a"}`),
		raw(`{"v":"meta.k8s.io/v1","rv":9223372036854775807,"start":""}`),
		raw(`{"v":"meta.k8s.io/v1","rv":9223372036854775808,"start":""}`),
		raw(`{"v":"meta.k8s.io/v1","rv":1,"start":"../../secrets/"}`),
		raw(`{"v":"meta.k8s.io/v1","rv":1,"start":"/registry/secrets/"}`),
		raw(`{"v":"meta.k8s.io/v1","rv":1.5,"start":"a"}`),
		raw(`{"v":"meta.k8s.io/v2","rv":1,"start":"a"}`),
		raw(`{"v":"meta.k8s.io/v1","rv":1,"start":"\ud800"}`),
		raw(`null`),
		"garbage", "", "====", base64.StdEncoding.EncodeToString([]byte(`{"v":"meta.k8s.io/v1","rv":1}`)),
	} {
		f.Add(token, false)
		f.Add(token, true)
	}
	f.Fuzz(func(t *testing.T, token string, namespaced bool) {
		prefix := continuePrefixes[0]
		if namespaced {
			prefix = continuePrefixes[1]
		}
		rev, start, err := decodeContinue(token, prefix)
		if err != nil {
			if !errors.Is(err, ErrBadContinue) {
				t.Fatalf("decodeContinue(%q): %v is not ErrBadContinue", token, err)
			}
			return
		}
		if rev <= 0 && rev != inconsistent {
			t.Fatalf("decodeContinue(%q): revision %d", token, rev)
		}
		rest, ok := strings.CutPrefix(start, prefix)
		if !ok || climbs(rest) {
			t.Fatalf("decodeContinue(%q): start %q escapes %q", token, start, prefix)
		}
		rev2, start2, err := decodeContinue(encodeContinue(rev, start, prefix), prefix)
		if err != nil || rev2 != rev || start2 != start {
			t.Fatalf("decodeContinue(%q) = %d, %q; its re-encoding decodes as %d, %q, %v", token, rev, start, rev2, start2, err)
		}
	})
}

// climbs reports whether a key relative to a prefix could name something outside it.
func climbs(rest string) bool {
	return strings.HasPrefix(rest, "/") || slices.Contains(strings.Split(rest, "/"), "..")
}

// FuzzContinueToken checks that the server's own tokens come back: a token for a page
// that stops at a key under the prefix decodes to the revision and the key after it,
// for any key of an object: valid UTF-8 (as JSON carries it), its namespace and name
// segments not ".." (which no name may be), though names may contain "..".
func FuzzContinueToken(f *testing.F) {
	f.Add(int64(5), "fuzz/p", false)
	f.Add(int64(1), "p", true)
	f.Add(int64(5), "fuzz/a..b", false) // a core/v1 event's name; its token was refused
	f.Add(int64(5), "fuzz/..", false)
	f.Add(int64(inconsistent), "fuzz/p", false)
	f.Add(int64(9223372036854775807), "", false)
	f.Add(int64(5), "a\"b\\c\u2028", true)
	f.Fuzz(func(t *testing.T, rev int64, lastKey string, namespaced bool) {
		prefix := continuePrefixes[0]
		if namespaced {
			prefix = continuePrefixes[1]
		}
		if (rev <= 0 && rev != inconsistent) || !utf8.ValidString(lastKey) || climbs(lastKey) {
			return
		}
		token := ContinueToken(rev, prefix+lastKey, prefix)
		gotRev, start, err := decodeContinue(token, prefix)
		if err != nil || gotRev != rev || start != prefix+lastKey+"\x00" {
			t.Fatalf("ContinueToken(%d, %q) decodes as %d, %q, %v", rev, prefix+lastKey, gotRev, start, err)
		}
	})
}
