package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Secret values the fixtures hold; tests assert they never leak.
const (
	fileSecret       = "s3cret-from-file-0600"
	openFileSecret   = "s3cret-from-file-0644"
	slackCredential  = "xoxb-from-credential-1234"
	clientCredential = "client-secret-from-credential"
)

// fixtures creates, in a fresh temp dir, the secret files and credentials
// the testdata configurations refer to as @TMP@/...:
//
//	secret-0600, secret-0644       secret files with safe and unsafe modes
//	creds/<name>                   systemd credentials
//	client.crt, client.key         a certificate and its key (0600)
//	client-open.key                the same key, mode 0644
//	other.key                      a key that does not match client.crt
//	state/                         STATE_DIRECTORY
func fixtures(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is filtered by the umask
			t.Fatal(err)
		}
	}
	write("secret-0600", fileSecret+"\n", 0o600)
	write("secret-0644", openFileSecret+"\n", 0o644)
	write("creds/slack-bot-token", slackCredential+"\n", 0o400)
	write("creds/fabrikam-client-secret", clientCredential, 0o400)
	write("creds/smtp-password", "smtp-password-from-credential", 0o400)
	write("creds/teams-url", "https://prod.example/workflows/abc", 0o400)
	certPEM, keyPEM := selfSigned(t)
	_, otherKey := selfSigned(t)
	write("client.crt", certPEM, 0o644)
	write("client.key", keyPEM, 0o600)
	write("client-open.key", keyPEM, 0o644)
	write("other.key", otherKey, 0o600)
	if err := os.Mkdir(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fixtureEnv is the environment of a load in the fixture dir.
func fixtureEnv(dir string) map[string]string {
	return map[string]string{
		"CREDENTIALS_DIRECTORY": filepath.Join(dir, "creds"),
		"STATE_DIRECTORY":       filepath.Join(dir, "state"),
	}
}

func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func selfSigned(t testing.TB) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tokenhealth test client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}
