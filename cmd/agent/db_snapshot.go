package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/internal/store"
)

// snapshotThroughDaemon has the running agent, which holds the state file's
// lock, write a hot copy next to it, and opens that copy. The copy carries
// the file's pages as they are, so checking it checks the file. It sits in
// the state directory because that is where the (sandboxed) service may
// write and where the operator's CLI can read. cleanup, when not nil,
// removes the copy, also after an error opening it.
func snapshotThroughDaemon(f dbFlags) (*store.DB, func(), error) {
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, nil, err
	}
	state, err := filepath.Abs(f.state)
	if err != nil {
		return nil, nil, err
	}
	copyPath := filepath.Join(filepath.Dir(state), ".check-"+hex.EncodeToString(raw[:])+".db")
	ctx, cancel := apiContext()
	defer cancel()
	err = localapi.NewClient(f.socket).Backup(ctx, copyPath)
	var down *localapi.ErrDaemonDown
	if errors.As(err, &down) {
		return nil, nil, fmt.Errorf("another tokenhealth process holds %s and its local API at %s did not answer (%v); "+
			"give the agent's socket with --socket, or stop the service (systemctl stop tokenhealth) and run 'tokenhealth db check' again",
			f.state, f.socket, down.Err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("the running agent could not copy %s for the check: %w", f.state, err)
	}
	remove := func() { _ = os.Remove(copyPath) }
	db, err := store.Open(copyPath, store.Options{KeyFile: f.keyFile})
	if err != nil {
		// The copy carries the live file's damage; the caller reports it
		// (errors.As finds the CorruptError) and removes the copy.
		return nil, remove, fmt.Errorf("opening the agent's copy of %s: %w", f.state, err)
	}
	return db, remove, nil
}
