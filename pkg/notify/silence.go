package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// MaxSilence bounds a silence: a mute forgotten for a year hides the next
// real outage.
const MaxSilence = 90 * 24 * time.Hour

// Silence mutes the alerts of one tenant (optionally of one kind) until
// EndsAt. Resolved notifications of alerts that fired before the silence
// are still sent, so no thread is left open.
type Silence struct {
	ID        string      `json:"id"`
	TenantID  string      `json:"tenantId"`
	Kind      health.Kind `json:"kind,omitempty"` // empty: every kind
	Reason    string      `json:"reason"`
	Author    string      `json:"author"`
	CreatedAt time.Time   `json:"createdAt"`
	EndsAt    time.Time   `json:"endsAt"`
}

// Active reports whether the silence still mutes at now.
func (s Silence) Active(now time.Time) bool { return now.Before(s.EndsAt) }

// Matches reports whether the silence covers finding f (whatever the time).
func (s Silence) Matches(f health.Finding) bool {
	// Tenant GUIDs are case-insensitive; an operator may paste either case.
	return strings.EqualFold(s.TenantID, f.TenantID) && (s.Kind == "" || s.Kind == f.Kind)
}

// SilenceRequest is what an operator asks for.
type SilenceRequest struct {
	TenantID string
	Kind     health.Kind
	For      time.Duration
	Reason   string
	Author   string
}

// Validate names the offending flag-level field.
func (r SilenceRequest) Validate() error {
	var errs []error
	if strings.TrimSpace(r.TenantID) == "" {
		errs = append(errs, errors.New("tenant: required"))
	}
	if r.Kind != "" && !slices.Contains(health.Kinds(), r.Kind) {
		names := make([]string, 0, len(health.Kinds()))
		for _, k := range health.Kinds() {
			names = append(names, string(k))
		}
		errs = append(errs, fmt.Errorf("kind: %q is not one of %s", r.Kind, strings.Join(names, ", ")))
	}
	if r.For <= 0 || r.For > MaxSilence {
		errs = append(errs, fmt.Errorf("for: %s is out of range (more than 0, at most %s)", r.For, MaxSilence))
	}
	if strings.TrimSpace(r.Reason) == "" {
		errs = append(errs, errors.New("reason: required (say why, for the next person on call)"))
	}
	return errors.Join(errs...)
}

// SilenceStore is what the CLI needs. The state-file implementation is
// SilenceDB; the daemon's local API will offer the same operations.
type SilenceStore interface {
	AddSilence(ctx context.Context, req SilenceRequest) (Silence, error)
	// ListSilences returns the active silences, soonest to end first.
	ListSilences(ctx context.Context) ([]Silence, error)
	RemoveSilence(ctx context.Context, id string) error
}

// ErrSilenceNotFound is returned when removing an unknown or expired silence.
var ErrSilenceNotFound = errors.New("no active silence with that ID")

// SilenceDB keeps silences in the state file's silences bucket.
type SilenceDB struct {
	DB    *store.DB
	Clock clock.Clock
}

var _ SilenceStore = (*SilenceDB)(nil)

// AddSilence validates req and stores a new silence starting now.
func (s *SilenceDB) AddSilence(_ context.Context, req SilenceRequest) (Silence, error) {
	if err := req.Validate(); err != nil {
		return Silence{}, err
	}
	var idb [8]byte
	_, _ = rand.Read(idb[:])
	now := s.Clock.Now().UTC()
	sil := Silence{
		ID: hex.EncodeToString(idb[:]), TenantID: strings.TrimSpace(req.TenantID), Kind: req.Kind,
		Reason: strings.TrimSpace(req.Reason), Author: req.Author, CreatedAt: now, EndsAt: now.Add(req.For),
	}
	err := s.DB.Update(func(tx *store.Tx) error { return tx.PutJSON(store.BucketSilences, sil.ID, sil) })
	return sil, err
}

// ListSilences returns the active silences and deletes the expired ones.
func (s *SilenceDB) ListSilences(_ context.Context) ([]Silence, error) {
	var out []Silence
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		out, _, err = activeSilences(tx, s.Clock.Now())
		return err
	})
	return out, err
}

// RemoveSilence deletes an active silence.
func (s *SilenceDB) RemoveSilence(_ context.Context, id string) error {
	return s.DB.Update(func(tx *store.Tx) error {
		var sil Silence
		found, err := tx.GetJSON(store.BucketSilences, id, &sil)
		if err != nil {
			return err
		}
		if !found || !sil.Active(s.Clock.Now()) {
			return fmt.Errorf("%w: %q", ErrSilenceNotFound, id)
		}
		return tx.Delete(store.BucketSilences, id)
	})
}

// activeSilences reads the bucket inside a write transaction, dropping
// silences that have ended: they expire by themselves, with no operator
// action and no lingering state.
// It reports whether it deleted any.
func activeSilences(tx *store.Tx, now time.Time) ([]Silence, bool, error) {
	var out []Silence
	var expired []string
	err := tx.ForEach(store.BucketSilences, "", func(k string, v []byte) error {
		var s Silence
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("silence %s: %w", k, err)
		}
		if s.Active(now) {
			out = append(out, s)
		} else {
			expired = append(expired, k)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	for _, k := range expired {
		if err := tx.Delete(store.BucketSilences, k); err != nil {
			return nil, false, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EndsAt.Before(out[j].EndsAt) })
	return out, len(expired) > 0, nil
}

func silenced(f health.Finding, sils []Silence) bool {
	return slices.ContainsFunc(sils, func(s Silence) bool { return s.Matches(f) })
}
