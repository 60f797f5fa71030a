package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/internal/store"
)

// seedState writes a state file with one token cache and returns the state
// and key file paths.
func seedState(t *testing.T) (state, key string) {
	t.Helper()
	dir := t.TempDir()
	state, key = filepath.Join(dir, "state.db"), filepath.Join(dir, "state.key")
	db, err := store.Open(state, store.Options{KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveTokenCache("t1", []byte("cache")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return state, key
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = dispatch(&cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

func TestDBBackupOffline(t *testing.T) {
	state, key := seedState(t)
	dest := filepath.Join(t.TempDir(), "copy.db")
	// The path may come after the flags or before them.
	for _, args := range [][]string{
		{"db", "backup", "--state", state, "--key-file", key, dest},
		{"db", "backup", dest, "--state", state, "--key-file", key},
	} {
		code, out, errs := runCLI(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errs)
		}
		want := "backed up " + state + " to " + dest + "\n" +
			"the token caches in it are encrypted: keep a copy of the key file " + key + " as well, stored apart from the backup\n"
		if out != want {
			t.Fatalf("stdout = %q\nwant     %q", out, want)
		}
	}
	db, err := store.Open(dest, store.Options{KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.LoadTokenCache("t1"); err != nil || string(got) != "cache" {
		t.Fatalf("backup holds %q, %v", got, err)
	}
}

func TestDBBackupWhileDaemonHoldsFile(t *testing.T) {
	state, key := seedState(t)
	daemon, err := store.Open(state, store.Options{KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	dest := filepath.Join(t.TempDir(), "copy.db")

	sockDir, err := os.MkdirTemp("", "thdb") // unix socket paths are short
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "api.sock")

	// Nobody answers on the socket: the message says what to do.
	code, _, errs := runCLI("db", "backup", dest, "--state", state, "--key-file", key, "--socket", sock)
	if code != 1 {
		t.Fatalf("exit %d; want 1", code)
	}
	for _, part := range []string{
		state + " is held by a running tokenhealth process, and its local API at " + sock + " did not answer",
		"take the backup through the running agent (--socket PATH), or stop the service (systemctl stop tokenhealth)",
	} {
		if !strings.Contains(errs, part) {
			t.Errorf("stderr %q lacks %q", errs, part)
		}
	}

	code, _, errs = runCLI("db", "check", "--state", state, "--key-file", key, "--socket", sock)
	if want := "its local API at " + sock + " did not answer"; code != 1 || !strings.Contains(errs, want) {
		t.Fatalf("db check with nobody on the socket: exit %d, stderr %q, want %q", code, errs, want)
	}

	// A daemon on the socket writes the backup from its own handle.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/db/backup", func(w http.ResponseWriter, r *http.Request) {
		var req localapi.BackupRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := daemon.Backup(req.Path); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(localapi.ErrorResponse{Error: err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"backup": req.Path})
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	code, out, errs := runCLI("db", "backup", dest, "--state", state, "--key-file", key, "--socket", sock)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if !strings.HasPrefix(out, "backed up "+state+" to "+dest+" (written by the running agent)\n") {
		t.Fatalf("stdout = %q", out)
	}
	if _, err := os.Stat(dest); err != nil {
		t.Fatalf("no backup written: %v", err)
	}

	// db check verifies a hot copy the daemon writes, then removes it.
	code, out, errs = runCLI("db", "check", "--state", state, "--key-file", key, "--socket", sock)
	if want := state + " (a hot copy taken by the running agent): no problems found"; code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("db check through the daemon: exit %d, stdout %q, stderr %q; want prefix %q", code, out, errs, want)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(state), ".check-*")); len(left) != 0 {
		t.Fatalf("the hot copy was left behind: %v", left)
	}
}

func TestDBCheck(t *testing.T) {
	state, key := seedState(t)
	code, out, errs := runCLI("db", "check", "--state", state, "--key-file", key)
	if code != 0 || !strings.HasPrefix(out, state+": no problems found (schema version 1; 1 token caches, 0 probe records, 0 findings; ") {
		t.Fatalf("clean: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	db, err := store.Open(state, store.Options{KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put(store.BucketFindings, "t1/broken", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errs = runCLI("db", "check", "--state", state, "--key-file", key)
	if code != 1 || out != "findings/t1/broken: value is not valid JSON (8 bytes)\n" {
		t.Fatalf("damaged: exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errs, state+": 1 problem(s) found") {
		t.Fatalf("stderr %q", errs)
	}
	code, out, _ = runCLI("db", "check", "--json", "--state", state, "--key-file", key)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if code != 1 || len(rep.Problems) != 1 || rep.Stats.Keys[store.BucketFindings] != 1 || rep.Stats.Path != state {
		t.Fatalf("--json: exit %d, report %+v", code, rep)
	}
}

// A damaged page makes Open refuse the file; db check still says which
// bucket and page, from the refusal, and exits 1.
func TestDBCheckNamesDamagedBucketAndPage(t *testing.T) {
	state, key := seedState(t)
	db, err := store.Open(state, store.Options{KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 { // enough for the bucket to have pages of its own
		if err := db.PutJSON(store.BucketFindings, fmt.Sprintf("t1/f%03d", i), map[string]string{"detail": strings.Repeat("x", 100)}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	bdb, err := bolt.Open(state, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var root uint64
	_ = bdb.View(func(tx *bolt.Tx) error {
		root = uint64(tx.Bucket([]byte(store.BucketFindings)).Root())
		return nil
	})
	pageSize := bdb.Info().PageSize
	bdb.Close()
	if root == 0 {
		t.Fatal("the findings bucket is inline")
	}
	garbage := bytes.Repeat([]byte{0x5a}, pageSize)
	f, err := os.OpenFile(state, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(garbage, int64(root)*int64(pageSize)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	problem := fmt.Sprintf("bucket findings: page %d is damaged (its header reads page %d)", root, uint64(0x5a5a5a5a5a5a5a5a))
	code, out, errs := runCLI("db", "check", "--state", state, "--key-file", key)
	if code != 1 || out != problem+"\n" {
		t.Fatalf("exit %d, stdout %q; want 1, %q", code, out, problem+"\n")
	}
	if want := "tokenhealth: " + state + ": 1 problem(s) found; restore a backup made with 'tokenhealth db backup', or move the file aside to start fresh\n"; errs != want {
		t.Fatalf("stderr %q\nwant   %q", errs, want)
	}
	code, out, _ = runCLI("db", "check", "--json", "--state", state, "--key-file", key)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if code != 1 || len(rep.Problems) != 1 || rep.Problems[0] != problem || rep.Stats.Path != state {
		t.Fatalf("--json: exit %d, report %+v", code, rep)
	}
}

func TestDBCompactAndRefusals(t *testing.T) {
	state, key := seedState(t)
	code, out, errs := runCLI("db", "compact", "--state", state, "--key-file", key)
	if code != 0 || !strings.HasPrefix(out, "compacted "+state+": ") {
		t.Fatalf("compact: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	held, err := store.Open(state, store.Options{KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	wantHeld := "tokenhealth: another tokenhealth process holds " + state + "; db compact needs the file to itself: " +
		"stop the service (systemctl stop tokenhealth), run 'tokenhealth db compact' again, then start it\n"
	if code, _, errs := runCLI("db", "compact", "--state", state, "--key-file", key); code != 1 || errs != wantHeld {
		t.Fatalf("held: exit %d, stderr %q\nwant %q", code, errs, wantHeld)
	}

	missing := filepath.Join(t.TempDir(), "typo.db")
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"db", "check", "--state", missing, "--key-file", key}, 1, "tokenhealth: no state file at " + missing + " (use --state to name it)\n"},
		{[]string{"db", "compact", "--state", missing, "--key-file", key}, 1, "tokenhealth: no state file at " + missing + " (use --state to name it)\n"},
		{[]string{"db", "check", "extra", "--state", state}, 2, "tokenhealth: db check: unexpected argument \"extra\"\n"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(c.args...)
		if code != c.code || errs != c.err {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.args, code, errs, c.code, c.err)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a check of a missing file created it")
	}
	if code, _, _ := runCLI("db"); code != 2 {
		t.Fatalf("db without a verb: exit %d; want 2", code)
	}
	if code, _, _ := runCLI("db", "backup", "--state", state); code != 2 {
		t.Fatalf("backup without PATH: exit %d; want 2", code)
	}
}

func TestDefaultKeyFilePrefersTheCredential(t *testing.T) {
	creds := t.TempDir()
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	if err := os.WriteFile(filepath.Join(creds, "state-key"), []byte(strings.Repeat("ab", 32)), 0o400); err != nil {
		t.Fatal(err)
	}
	if got, want := defaultKeyFile(), filepath.Join(creds, "state-key"); got != want {
		t.Fatalf("defaultKeyFile() = %q; want %q", got, want)
	}
}
