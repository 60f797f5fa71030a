package store

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestPutGetDeleteRoundTrip(t *testing.T) {
	db := openTemp(t, Options{})
	if err := db.Put(BucketFindings, "t1/mfa", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	got, err := db.Get(BucketFindings, "t1/mfa")
	if err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Get = %q, %v", got, err)
	}
	got[0] = 'X' // a copy: must not change the stored value
	again, _ := db.Get(BucketFindings, "t1/mfa")
	if string(again) != `{"a":1}` {
		t.Fatalf("Get returned a slice aliasing the store: now %q", again)
	}
	if err := db.Delete(BucketFindings, "t1/mfa"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Get(BucketFindings, "t1/mfa"); got != nil || err != nil {
		t.Fatalf("after Delete: Get = %q, %v; want nil, nil", got, err)
	}
}

func TestGenericAccessRefusals(t *testing.T) {
	db := openTemp(t, Options{})
	cases := []struct {
		bucket, key, want string
	}{
		{BucketTokenCache, "t1", "bucket token_cache is encrypted: use LoadTokenCache/SaveTokenCache"},
		{BucketMeta, "schema_version", "bucket meta belongs to the store itself"},
		{"nope", "k", `unknown bucket "nope"`},
		{BucketFindings, "", "put in findings: empty key"},
	}
	for _, c := range cases {
		err := db.Put(c.bucket, c.key, []byte("{}"))
		if err == nil || err.Error() != c.want {
			t.Errorf("Put(%q, %q) error = %v; want %q", c.bucket, c.key, err, c.want)
		}
	}
}

func TestForEachPrefixInOrder(t *testing.T) {
	db := openTemp(t, Options{})
	for _, k := range []string{"b/2", "a/1", "b/1", "c/1", "b/3"} {
		if err := db.Put(BucketOutbox, k, []byte(`"`+k+`"`)); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	err := db.ForEach(BucketOutbox, "b/", func(k string, v []byte) error {
		if string(v) != `"`+k+`"` {
			return fmt.Errorf("value of %s is %s", k, v)
		}
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b/1", "b/2", "b/3"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys = %v; want %v", keys, want)
	}
	stop := errors.New("stop")
	n := 0
	err = db.ForEach(BucketOutbox, "", func(string, []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ForEach did not stop on error: n=%d err=%v", n, err)
	}
}

func TestJSONAndMultiKeyUpdate(t *testing.T) {
	db := openTemp(t, Options{})
	type silence struct {
		Tenant string `json:"tenant"`
		Reason string `json:"reason"`
	}
	want := silence{Tenant: "t1", Reason: "maintenance"}
	if err := db.PutJSON(BucketSilences, "s1", want); err != nil {
		t.Fatal(err)
	}
	var got silence
	found, err := db.GetJSON(BucketSilences, "s1", &got)
	if err != nil || !found || got != want {
		t.Fatalf("GetJSON = %+v, %v, %v", got, found, err)
	}
	if found, err := db.GetJSON(BucketSilences, "absent", &got); found || err != nil {
		t.Fatalf("GetJSON(absent) = %v, %v", found, err)
	}

	// A failing Update must leave nothing behind.
	boom := errors.New("boom")
	err = db.Update(func(tx *Tx) error {
		if err := tx.PutJSON(BucketAlertLog, "a1", want); err != nil {
			return err
		}
		if err := tx.Delete(BucketSilences, "s1"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v", err)
	}
	if v, _ := db.Get(BucketAlertLog, "a1"); v != nil {
		t.Fatal("rolled-back Put is visible")
	}
	if v, _ := db.Get(BucketSilences, "s1"); v == nil {
		t.Fatal("rolled-back Delete took effect")
	}

	if err := db.Put(BucketTenants, "bad", []byte("{")); err != nil {
		t.Fatal(err)
	}
	_, err = db.GetJSON(BucketTenants, "bad", &got)
	if err == nil || !strings.HasPrefix(err.Error(), "decode tenants/bad: ") {
		t.Fatalf("GetJSON of bad JSON: %v", err)
	}
}
