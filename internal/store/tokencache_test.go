package store

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// refreshToken is recognisable: if any run of it reached the file in clear,
// the raw-bytes search below finds it.
const refreshToken = "0.AXoA-REFRESH-TOKEN-CANARY-do-not-store-in-clear-7f3a9c"

func TestTokenCacheIsEncryptedAtRest(t *testing.T) {
	db := openTemp(t, Options{})
	blob := []byte(`{"RefreshToken":{"k":{"secret":"` + refreshToken + `","home_account_id":"u.t1"}}}`)
	for _, tenant := range []string{"11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"} {
		if err := db.SaveTokenCache(tenant, blob); err != nil {
			t.Fatal(err)
		}
	}
	path := db.Path()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{refreshToken, "REFRESH-TOKEN-CANARY", "RefreshToken", "home_account_id"} {
		if bytes.Contains(raw, []byte(needle)) {
			t.Errorf("state file contains %q in clear", needle)
		}
	}
	db2 := openAt(t, path)
	defer db2.Close()
	got, err := db2.LoadTokenCache("11111111-1111-1111-1111-111111111111")
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("LoadTokenCache = %q, %v", got, err)
	}
}

// openAt opens an existing file with the test key.
func openAt(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path, Options{Key: testKey})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return db
}

func TestTokenCacheSealFormat(t *testing.T) {
	db := openTemp(t, Options{})
	if err := db.SaveTokenCache("t1", []byte("cache")); err != nil {
		t.Fatal(err)
	}
	first := rawTokenCache(t, db, "t1")
	if err := db.SaveTokenCache("t1", []byte("cache")); err != nil {
		t.Fatal(err)
	}
	second := rawTokenCache(t, db, "t1")
	if first[0] != sealVersion {
		t.Fatalf("version byte = %d; want %d", first[0], sealVersion)
	}
	if want := 1 + 12 + len("cache") + 16; len(first) != want {
		t.Fatalf("sealed length = %d; want %d (version+nonce+ciphertext+tag)", len(first), want)
	}
	if bytes.Equal(first[1:13], second[1:13]) {
		t.Fatal("two writes reused a nonce")
	}
}

func rawTokenCache(t *testing.T, db *DB, tenant string) []byte {
	t.Helper()
	var out []byte
	err := db.bolt.View(func(tx *boltTx) error {
		out = bytes.Clone(tx.Bucket([]byte(BucketTokenCache)).Get([]byte(tenant)))
		return nil
	})
	if err != nil || out == nil {
		t.Fatalf("raw token cache of %s: %v", tenant, err)
	}
	return out
}

func TestTokenCacheAbsentAndDelete(t *testing.T) {
	db := openTemp(t, Options{})
	if got, err := db.LoadTokenCache("t1"); got != nil || err != nil {
		t.Fatalf("absent cache: %q, %v", got, err)
	}
	if err := db.SaveTokenCache("t1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteTokenCache("t1"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.LoadTokenCache("t1"); got != nil || err != nil {
		t.Fatalf("deleted cache: %q, %v", got, err)
	}
	for _, bad := range []string{"", "a/b"} {
		if err := db.SaveTokenCache(bad, []byte("x")); err == nil {
			t.Errorf("SaveTokenCache(%q) accepted", bad)
		}
	}
}

// A cache copied under another tenant's key must not decrypt: the tenant id
// is the associated data.
func TestTokenCacheBoundToTenant(t *testing.T) {
	db := openTemp(t, Options{})
	if err := db.SaveTokenCache("t1", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	sealed := rawTokenCache(t, db, "t1")
	err := db.bolt.Update(func(tx *boltTx) error {
		return tx.Bucket([]byte(BucketTokenCache)).Put([]byte("t2"), sealed)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.LoadTokenCache("t2")
	var km *KeyMismatchError
	if !errors.As(err, &km) || km.Tenant != "t2" {
		t.Fatalf("LoadTokenCache(t2) error = %v; want KeyMismatchError for t2", err)
	}
	want := "token cache of tenant t2 cannot be decrypted: the state key does not match the state file " + db.Path()
	if err.Error() != want {
		t.Fatalf("error = %q\nwant    %q", err, want)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatal("error leaks plaintext")
	}
}
