package entrasim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// timedEvent is a scenario change due at a virtual time.
type timedEvent struct {
	at     time.Time
	tenant *Tenant
	desc   string
	apply  func(now time.Time) error
}

// eventQueue applies timed events once virtual time has passed them. The
// check is cheap (one atomic load) so every request can make it: events
// then take effect exactly when a client could first observe them, whether
// the clock ran there or jumped.
type eventQueue struct {
	mu      sync.Mutex
	pending []*timedEvent // sorted by at
	nextAt  atomic.Int64  // unix nanos of pending[0], MaxInt64 when empty
	log     *slog.Logger
}

func newEventQueue(events []*timedEvent, log *slog.Logger) *eventQueue {
	q := &eventQueue{log: log}
	q.add(events...)
	return q
}

func (q *eventQueue) add(events ...*timedEvent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, events...)
	sort.SliceStable(q.pending, func(i, j int) bool { return q.pending[i].at.Before(q.pending[j].at) })
	q.storeNextLocked()
}

func (q *eventQueue) storeNextLocked() {
	if len(q.pending) == 0 {
		q.nextAt.Store(1<<63 - 1)
		return
	}
	q.nextAt.Store(q.pending[0].at.UnixNano())
}

// applyDue applies every event due at or before now, in time order.
func (q *eventQueue) applyDue(now time.Time) {
	if now.UnixNano() < q.nextAt.Load() {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) > 0 && !q.pending[0].at.After(now) {
		ev := q.pending[0]
		q.pending = q.pending[1:]
		if err := ev.apply(ev.at); err != nil {
			q.log.Error("scenario event failed", "tenant", ev.tenant.ID, "event", ev.desc, "err", err)
		} else {
			q.log.Info("scenario event applied", "tenant", ev.tenant.ID, "event", ev.desc, "at", ev.at)
		}
	}
	q.storeNextLocked()
}

// remaining lists events not applied yet (for /_sim/tenants).
func (q *eventQueue) remaining(tenantID string) []map[string]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []map[string]string
	for _, ev := range q.pending {
		if ev.tenant.ID == tenantID {
			out = append(out, map[string]string{"at": ev.at.Format(time.RFC3339), "event": ev.desc})
		}
	}
	return out
}

// buildEvent validates one scenario event and binds it to its tenant.
func (sc *Scenario) buildEvent(t *Tenant, i int, in *ScenarioEvent, start time.Time) (*timedEvent, error) {
	at, err := parseWhen(in.At, start)
	if err != nil {
		return nil, fmt.Errorf("at: %w", err)
	}
	ev := &timedEvent{at: at, tenant: t, desc: in.Action}
	needUser := func() error {
		if in.User == "" {
			return fmt.Errorf("%s: user required", in.Action)
		}
		var found bool
		t.View(func(st *TenantState) { found = st.UserByUPNOrID(in.User) != nil })
		if !found {
			return fmt.Errorf("%s: user %q not in tenant", in.Action, in.User)
		}
		ev.desc = in.Action + " " + in.User
		return nil
	}
	switch in.Action {
	case "addPolicy":
		raw, err := sc.decodeYAMLPolicy(&in.Policy)
		if err != nil {
			return nil, err
		}
		if _, err := newPolicy(t.ID, i, raw); err != nil {
			return nil, err
		}
		ev.desc = "addPolicy " + policyName(raw)
		ev.apply = func(time.Time) error { _, err := t.AddPolicy(raw); return err }
	case "updatePolicy":
		raw, err := sc.decodeYAMLPolicy(&in.Policy)
		if err != nil {
			return nil, err
		}
		if in.PolicyID == "" {
			return nil, fmt.Errorf("updatePolicy: policyId required")
		}
		ev.desc = "updatePolicy " + in.PolicyID
		ev.apply = func(time.Time) error { return t.UpdatePolicy(in.PolicyID, raw) }
	case "deletePolicy":
		if in.PolicyID == "" {
			return nil, fmt.Errorf("deletePolicy: policyId required")
		}
		ev.desc = "deletePolicy " + in.PolicyID
		ev.apply = func(time.Time) error { return t.DeletePolicy(in.PolicyID) }
	case "changePassword":
		if err := needUser(); err != nil {
			return nil, err
		}
		ev.apply = func(now time.Time) error { return t.ChangePassword(in.User, now) }
	case "revokeSessions":
		if err := needUser(); err != nil {
			return nil, err
		}
		ev.apply = func(now time.Time) error { return t.RevokeSessions(in.User, now) }
	case "disableUser", "enableUser":
		if err := needUser(); err != nil {
			return nil, err
		}
		enable := in.Action == "enableUser"
		ev.apply = func(time.Time) error { return t.SetAccountEnabled(in.User, enable) }
	case "enablePerUserMfa":
		if err := needUser(); err != nil {
			return nil, err
		}
		state := in.State
		if state == "" {
			state = PerUserMFAEnforced
		}
		if state != PerUserMFAEnabled && state != PerUserMFAEnforced {
			return nil, fmt.Errorf("enablePerUserMfa: state %q: want enabled or enforced", state)
		}
		ev.apply = func(time.Time) error { return t.SetPerUserMFA(in.User, state) }
	case "setMembership":
		if in.Group == "" || in.Member == "" || in.Add == nil {
			return nil, fmt.Errorf("setMembership: group, member and add are required")
		}
		add := *in.Add
		ev.desc = fmt.Sprintf("setMembership group=%s member=%s add=%v", in.Group, in.Member, add)
		ev.apply = func(time.Time) error { return t.SetMembership(in.Group, in.Member, add) }
	default:
		return nil, fmt.Errorf("action %q: want addPolicy, updatePolicy, deletePolicy, changePassword, revokeSessions, disableUser, enableUser, enablePerUserMfa or setMembership", in.Action)
	}
	return ev, nil
}

func policyName(raw json.RawMessage) string {
	var head struct {
		DisplayName string `json:"displayName"`
	}
	_ = json.Unmarshal(raw, &head)
	return fmt.Sprintf("%q", head.DisplayName)
}
