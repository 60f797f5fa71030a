package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CheckFileMode refuses a secret file that users other than its owner can
// read: a token readable by the whole machine is not a secret any more. The
// error says how to fix it.
func CheckFileMode(path string, info fs.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o044 != 0 {
		return fmt.Errorf("secret file %s is readable by group or others (mode %04o); fix with: chmod 600 %s (and chown it to the service user)", path, perm, path)
	}
	return nil
}

// ReadFile reads a secret from a file that only its owner can read. One
// trailing newline (as left by editors and `echo`) is dropped; an empty
// file is an error because an empty credential is never intended.
func ReadFile(path string) (Secret, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Secret{}, fileError(path, err)
	}
	if info.IsDir() {
		return Secret{}, fmt.Errorf("secret file %s is a directory", path)
	}
	if err := CheckFileMode(path, info); err != nil {
		return Secret{}, err
	}
	return readTrimmed(path)
}

// ReadCredential reads a systemd credential (LoadCredential=, SetCredential=,
// LoadCredentialEncrypted=) from dir, normally $CREDENTIALS_DIRECTORY. The
// directory is private to the service (systemd guarantees it), so the file
// mode is not checked.
func ReadCredential(dir, name string) (Secret, error) {
	if dir == "" {
		return Secret{}, errors.New("$CREDENTIALS_DIRECTORY is not set: systemd sets it for units with LoadCredential= or SetCredential=; run under the service unit or use the _file form")
	}
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return Secret{}, fmt.Errorf("invalid credential name %q: a systemd credential name is a plain file name", name)
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Secret{}, fmt.Errorf("credential %q not found in $CREDENTIALS_DIRECTORY (%s); add LoadCredential=%s:PATH to the unit", name, dir, name)
		}
		return Secret{}, fileError(path, err)
	}
	return readTrimmed(path)
}

func readTrimmed(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Secret{}, fileError(path, err)
	}
	v := strings.TrimSuffix(string(b), "\n")
	v = strings.TrimSuffix(v, "\r")
	if v == "" {
		return Secret{}, fmt.Errorf("secret file %s is empty", path)
	}
	return New(v), nil
}

// fileError rewords the common os errors; the *PathError text would repeat
// the path with the operation name ("stat /x: no such file or directory").
func fileError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot read secret file %s: no such file", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot read secret file %s: permission denied (the service user must own it)", path)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot read secret file %s: %v", path, pe.Err)
	}
	return fmt.Errorf("cannot read secret file %s: %v", path, err)
}
