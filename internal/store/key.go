package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tokenhealth/tokenhealth/internal/secret"
)

// KeySize is the length of the AES-256 key protecting token caches.
const KeySize = 32

// CredentialName is the systemd credential (LoadCredential=state-key:...)
// read when no key file is configured.
const CredentialName = "state-key"

// resolveKey returns the token-cache key from, in order: Options.Key,
// Options.KeyFile (created if absent), or the systemd credential.
// stateHasKeyCheck says whether the state file was already sealed with some
// key: a missing key file is then an error, because a fresh random key could
// never decrypt the caches already in the file.
func resolveKey(opts Options, statePath string, stateHasKeyCheck bool, log *slog.Logger) ([]byte, error) {
	if opts.Key != nil {
		if len(opts.Key) != KeySize {
			return nil, fmt.Errorf("state key is %d bytes; it must be %d bytes (AES-256)", len(opts.Key), KeySize)
		}
		return bytes.Clone(opts.Key), nil
	}
	if opts.KeyFile != "" {
		return loadOrCreateKeyFile(opts.KeyFile, statePath, stateHasKeyCheck, log)
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		// systemd makes the credentials directory private to the unit, so the
		// mode check applied to key files does not apply here.
		path := filepath.Join(dir, CredentialName)
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("state key credential: %w (add LoadCredential=%s:/path/to/key to the unit, or set a key file)", err, CredentialName)
		}
		return parseKey(raw, path)
	}
	return nil, errors.New("no state key configured: set a key file, or provide the systemd credential " + CredentialName)
}

func loadOrCreateKeyFile(path, statePath string, stateHasKeyCheck bool, log *slog.Logger) ([]byte, error) {
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		if stateHasKeyCheck {
			return nil, fmt.Errorf("key file %s is missing but state file %s was encrypted with a key: restore the key file "+
				"(token caches cannot be read without it), or move the state file aside to start fresh", path, statePath)
		}
		return createKeyFile(path, log)
	}
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if info.IsDir() {
		return nil, fmt.Errorf("key file %s is a directory", path)
	}
	// The rules of every other secret: only the owner may read or write
	// it, and the owner is the service user or root.
	if err := secret.CheckFileMode(path, info); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return parseKey(raw, path)
}

// parseKey accepts 32 raw bytes or 64 hex characters (a trailing newline is
// allowed, so `openssl rand -hex 32 > key` works).
func parseKey(raw []byte, path string) ([]byte, error) {
	if len(raw) == KeySize {
		return bytes.Clone(raw), nil
	}
	text := bytes.TrimSpace(raw)
	if len(text) == 2*KeySize {
		key := make([]byte, KeySize)
		if _, err := hex.Decode(key, text); err == nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("key file %s holds %d bytes; it must hold %d raw bytes or %d hex characters", path, len(raw), KeySize, 2*KeySize)
}

// createKeyFile writes a fresh random key as hex, exclusively, with mode
// 0600, and syncs it before the key is used to seal anything.
func createKeyFile(path string, log *slog.Logger) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("key file directory for %s: %w", path, err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate state key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create key file %s: %w", path, err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	log.Info("created state key file; back it up with the state file", "key_file", path)
	return key, nil
}

// syncDir makes a rename or create in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
