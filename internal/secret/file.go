package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// CheckFileMode refuses a secret file that anyone but its owner can read
// or change, or that belongs to an unprivileged user other than the one
// this process runs as. A token readable by the whole machine is not a
// secret any more; one that others can write is not the administrator's
// any more: whoever rewrites it can point alerts at their own webhook,
// swap the mail password, or (for the state key) lock the agent out of
// its token caches. The owner rule is the one OpenSSH (StrictModes) and
// sudo apply to their own secrets: the service user or root, because the
// owner can always chmod the file open again after this check. Each error
// gives the command that fixes it.
func CheckFileMode(path string, info fs.FileInfo) error {
	return checkFile(path, info, os.Geteuid())
}

func checkFile(path string, info fs.FileInfo, euid int) error {
	perm := info.Mode().Perm()
	var exposed string
	switch readable, writable := perm&0o044 != 0, perm&0o022 != 0; {
	case readable && writable:
		exposed = "readable and writable"
	case readable:
		exposed = "readable"
	case writable:
		exposed = "writable"
	}
	if exposed != "" {
		return fmt.Errorf("secret file %s is %s by group or others (mode %04o); fix with: chmod 600 %s (and chown it to the service user)",
			path, exposed, perm, path)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 || int(st.Uid) == euid {
		return nil
	}
	owner := describeUser(int(st.Uid))
	if euid == 0 {
		return fmt.Errorf("secret file %s is owned by %s, who could change it; tokenhealth runs as root, so the file must belong to root; fix with: chown root %s",
			path, owner, path)
	}
	name := userName(euid)
	return fmt.Errorf("secret file %s is owned by %s, who could change it; it must belong to the user tokenhealth runs as (%s) or to root; fix with: chown %s %s",
		path, owner, describeUser(euid), name, path)
}

// userName is the login name of uid, or the number when it has none (the
// form chown accepts either way).
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// describeUser is "name (uid N)", or "uid N" for a uid without a name.
func describeUser(uid int) string {
	if name := userName(uid); name != strconv.Itoa(uid) {
		return fmt.Sprintf("%s (uid %d)", name, uid)
	}
	return fmt.Sprintf("uid %d", uid)
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
