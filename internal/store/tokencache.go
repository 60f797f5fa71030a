package store

import (
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Token caches hold refresh tokens for customer tenants, so they are the one
// concern stored encrypted: AES-256-GCM under the state key, with the tenant
// id as associated data so a cache moved to another tenant's key does not
// decrypt.

// SaveTokenCache seals blob (an MSAL cache export) for tenantID and returns
// once it is durable.
func (db *DB) SaveTokenCache(tenantID string, blob []byte) error {
	if err := validTenantID(tenantID); err != nil {
		return err
	}
	sealed, err := db.aead.seal(blob, []byte(tenantID))
	if err != nil {
		return fmt.Errorf("seal token cache of tenant %s: %w", tenantID, err)
	}
	// MSAL exports the cache after every redemption, so this is as hot as
	// probe history and shares its group commit.
	return db.writes.submit(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(BucketTokenCache)).Put([]byte(tenantID), sealed)
	})
}

// LoadTokenCache returns the decrypted cache of tenantID, or nil, nil when
// none was saved.
func (db *DB) LoadTokenCache(tenantID string) (_ []byte, err error) {
	defer db.recoverDamage(&err)
	if err := validTenantID(tenantID); err != nil {
		return nil, err
	}
	var sealed []byte
	err = db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte(BucketTokenCache)).Get([]byte(tenantID)); v != nil {
			sealed = append([]byte(nil), v...)
		}
		return nil
	})
	if err != nil || sealed == nil {
		return nil, err
	}
	return db.openTokenCache(tenantID, sealed)
}

func (db *DB) openTokenCache(tenantID string, sealed []byte) ([]byte, error) {
	plain, err := db.aead.open(sealed, []byte(tenantID))
	if errors.Is(err, errNoMatch) {
		return nil, &KeyMismatchError{Path: db.path, Tenant: tenantID}
	}
	if err != nil {
		return nil, fmt.Errorf("token cache of tenant %s in %s: %w", tenantID, db.path, err)
	}
	return plain, nil
}

// DeleteTokenCache forgets the cache of tenantID (for example when the
// tenant is removed from the configuration).
func (db *DB) DeleteTokenCache(tenantID string) (err error) {
	defer db.recoverDamage(&err)
	if err := validTenantID(tenantID); err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(BucketTokenCache)).Delete([]byte(tenantID))
	})
}

// validTenantID guards the key layout: probe history keys are
// tenantID + "/" + time, so a "/" inside an id would let one tenant's prefix
// scan see another's records.
func validTenantID(id string) error {
	if id == "" {
		return errors.New("tenant id is empty")
	}
	if strings.Contains(id, "/") {
		return fmt.Errorf("tenant id %q contains '/'", id)
	}
	return nil
}
