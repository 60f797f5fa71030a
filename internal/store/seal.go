package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// sealVersion prefixes every sealed value so the format (cipher, nonce
// size) can change later without guessing.
const sealVersion byte = 1

// errNoMatch is what AES-GCM authentication failure means here: the value
// was sealed under another key (or for another tenant, or was altered).
var errNoMatch = errors.New("the state key does not match the state file")

// sealer encrypts values with AES-256-GCM. Sealed form:
// version byte | 12-byte random nonce | ciphertext with tag.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("state key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("state key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal encrypts plaintext bound to ad (the tenant id for token caches), so a
// value copied under another tenant's key fails to open.
func (s *sealer) seal(plaintext, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:1+ns], plaintext, ad), nil
}

func (s *sealer) open(sealed, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() {
		return nil, fmt.Errorf("sealed value is %d bytes, too short", len(sealed))
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("sealed value has format version %d; this tokenhealth reads version %d", sealed[0], sealVersion)
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], ad)
	if err != nil {
		return nil, errNoMatch
	}
	return plain, nil
}
