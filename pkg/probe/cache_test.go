package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

type fakeUnmarshaler struct{ got []byte }

func (f *fakeUnmarshaler) Unmarshal(b []byte) error { f.got = b; return nil }

type fakeMarshaler struct{ blob []byte }

func (f fakeMarshaler) Marshal() ([]byte, error) { return f.blob, nil }

func sections(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range []string{"AccessToken", "RefreshToken", "Account", "IdToken", "AppMetadata"} {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestCacheHidesAccessTokensOnlyForForcedRedemption(t *testing.T) {
	blob := []byte(`{"AccessToken":{"k":{"secret":"at"}},"RefreshToken":{"r":{"secret":"rt"}},"Account":{"a":{}},"IdToken":{},"AppMetadata":{}}`)
	caches := &memoryCaches{}
	c := &tenantCache{store: caches, tenantID: "t"}
	if err := c.Export(context.Background(), fakeMarshaler{blob}, cache.ExportHints{}); err != nil {
		t.Fatal(err)
	}

	// A fresh accessor, as after a restart: MSAL's memory holds nothing yet.
	c = &tenantCache{store: caches, tenantID: "t"}
	stored, _ := caches.LoadTokenCache("t")
	if got, want := sections(t, stored), []string{"AccessToken", "RefreshToken", "Account", "AppMetadata"}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored sections %v, want %v (the ID token is not kept)", got, want)
	}
	var plain, forced fakeUnmarshaler
	if err := c.Replace(context.Background(), &plain, cache.ReplaceHints{}); err != nil {
		t.Fatal(err)
	}
	if string(plain.got) != string(stored) {
		t.Errorf("ordinary read changed the cache: %s", plain.got)
	}
	if err := c.Replace(withForcedRedemption(context.Background()), &forced, cache.ReplaceHints{}); err != nil {
		t.Fatal(err)
	}
	if got, want := sections(t, forced.got), []string{"RefreshToken", "Account", "AppMetadata"}; !reflect.DeepEqual(got, want) {
		t.Errorf("forced read sections %v, want %v", got, want)
	}
	if again, _ := caches.LoadTokenCache("t"); string(again) != string(stored) {
		t.Error("a forced read altered the stored cache")
	}

	// A cache that is not MSAL JSON fails the forced read with an error
	// that quotes none of its content.
	_ = caches.SaveTokenCache("t", []byte("rt-secret-garbage"))
	err := c.Replace(withForcedRedemption(context.Background()), &forced, cache.ReplaceHints{})
	if err == nil || contains([]string{err.Error()}, "rt-secret-garbage") {
		t.Errorf("err = %v", err)
	}
}

// TestCacheSkipsReloadingWhatMSALHolds: a Replace that would load what
// MSAL already holds (same stored blob, same hiding) does not decode it
// again; a changed blob, a change of hiding, or a failed save loads again.
func TestCacheSkipsReloadingWhatMSALHolds(t *testing.T) {
	blob := []byte(`{"AccessToken":{"k":{"secret":"at"}},"RefreshToken":{"r":{"secret":"rt"}}}`)
	caches := &memoryCaches{}
	_ = caches.SaveTokenCache("t", blob)
	c := &tenantCache{store: caches, tenantID: "t"}
	plain, forced := context.Background(), withForcedRedemption(context.Background())
	steps := []struct {
		name   string
		before func()
		ctx    context.Context
		loads  bool
	}{
		{"first read", nil, plain, true},
		{"same read again", nil, plain, false},
		{"forced read hides access tokens", nil, forced, true},
		{"forced read again", nil, forced, false},
		{"ordinary read after a forced one", nil, plain, true},
		{"after MSAL exported", func() {
			_ = c.Export(plain, fakeMarshaler{[]byte(`{"RefreshToken":{"r2":{}}}`)}, cache.ExportHints{})
		}, plain, false},
		{"after someone else wrote the store", func() { _ = caches.SaveTokenCache("t", blob) }, plain, true},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		var u fakeUnmarshaler
		if err := c.Replace(st.ctx, &u, cache.ReplaceHints{}); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if loaded := u.got != nil; loaded != st.loads {
			t.Errorf("%s: loaded = %v, want %v", st.name, loaded, st.loads)
		}
	}
}

type failingCaches struct{ *memoryCaches }

func (*failingCaches) LoadTokenCache(string) ([]byte, error) {
	return nil, errors.New("state key does not match")
}

func TestCacheLoadErrorNamesTheTenant(t *testing.T) {
	c := &tenantCache{store: &failingCaches{&memoryCaches{}}, tenantID: "3c3c"}
	err := c.Replace(context.Background(), &fakeUnmarshaler{}, cache.ReplaceHints{})
	if err == nil || err.Error() != "load token cache of tenant 3c3c: state key does not match" {
		t.Errorf("err = %v", err)
	}
}

// TestWithoutSectionsKeepsEveryOtherByte: the scan removes exactly the
// named sections wherever they stand, keeps the others' bytes, returns a
// blob without them unchanged, and refuses what is not a JSON object.
func TestWithoutSectionsKeepsEveryOtherByte(t *testing.T) {
	cases := []struct {
		name, in, want, err string
	}{
		{"first", `{"AccessToken":{"k":{"secret":"at"}},"RefreshToken":{"r":{}},"Account":{}}`, `{"RefreshToken":{"r":{}},"Account":{}}`, ""},
		{"middle", `{"RefreshToken":{"r":{}},"AccessToken":{"k":[1,2]},"Account":{}}`, `{"RefreshToken":{"r":{}},"Account":{}}`, ""},
		{"last", `{"RefreshToken":{"r":{}},"AccessToken":{}}`, `{"RefreshToken":{"r":{}}}`, ""},
		{"only", `{"AccessToken":{"k":{}}}`, `{}`, ""},
		{"spaces", "{ \"AccessToken\" : {} ,\n \"RefreshToken\" : {\"r\" : 1} }", `{"RefreshToken" : {"r" : 1}}`, ""},
		{"absent", `{"RefreshToken":{"r":{}}}`, `{"RefreshToken":{"r":{}}}`, ""},
		{"nested name is kept", `{"RefreshToken":{"AccessToken":{}}}`, `{"RefreshToken":{"AccessToken":{}}}`, ""},
		{"strings with braces and escapes", `{"AccessToken":{"s":"}\"{["},"RefreshToken":{"s":"a\\"}}`, `{"RefreshToken":{"s":"a\\"}}`, ""},
		{"literals", `{"n":1,"AccessToken":[true,null,{"x":-2.5e3}],"b":false}`, `{"n":1,"b":false}`, ""},
		{"empty object", `{}`, `{}`, ""},
		{"empty", ``, ``, "cache is not MSAL JSON: malformed at byte 0"},
		{"array", `[1]`, ``, "cache is not MSAL JSON: malformed at byte 0"},
		{"garbage", `rt-secret-garbage`, ``, "cache is not MSAL JSON: malformed at byte 0"},
		{"truncated", `{"AccessToken":{"k":`, ``, "cache is not MSAL JSON: malformed at byte 20"},
		{"unterminated string", `{"RefreshToken":"rt-secret`, ``, "cache is not MSAL JSON: malformed at byte 26"},
		{"missing colon", `{"AccessToken" {}}`, ``, "cache is not MSAL JSON: malformed at byte 15"},
		{"trailing comma", `{"a":1,}`, ``, "cache is not MSAL JSON: malformed at byte 7"},
		{"two values", `{"a":1 "b":2}`, ``, "cache is not MSAL JSON: malformed at byte 7"},
		{"text after the object", `{"a":1} rt-secret`, ``, "cache is not MSAL JSON: malformed at byte 8"},
		{"unclosed object", `{"a":1`, ``, "cache is not MSAL JSON: malformed at byte 6"},
	}
	for _, tc := range cases {
		got, err := withoutSections([]byte(tc.in), msalAccessTokenSection)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.name, got, err, tc.want)
		}
	}
}

// TestWithoutSectionsAgreesWithEncodingJSON: on objects encoding/json
// writes (nested maps, arrays, escapes, numbers), dropping a section with
// the scanner leaves exactly what decoding, deleting and comparing does.
func TestWithoutSectionsAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var value func(depth int) any
	value = func(depth int) any {
		switch k := rng.IntN(6); {
		case k == 0 || depth > 3:
			return fmt.Sprintf("s\"}{][\\,:%d\u00e9\n", rng.IntN(100))
		case k == 1:
			return rng.Float64() * 1e6
		case k == 2:
			return rng.IntN(2) == 0
		case k == 3:
			return nil
		case k == 4:
			return []any{value(depth + 1), value(depth + 1)}
		default:
			return map[string]any{"a\"}": value(depth + 1), "b": value(depth + 1)}
		}
	}
	for n := range 300 {
		m := map[string]any{}
		for _, k := range []string{"AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"} {
			if rng.IntN(3) > 0 {
				m[k] = value(0)
			}
		}
		blob, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := withoutSections(blob, "AccessToken", "IdToken")
		if err != nil {
			t.Fatalf("case %d: %v on %s", n, err, blob)
		}
		delete(m, "AccessToken")
		delete(m, "IdToken")
		var back map[string]any
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("case %d: result %s is not JSON: %v", n, got, err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("case %d: got %s from %s", n, got, blob)
		}
	}
}
