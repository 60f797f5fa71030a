package entrasim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The mutations below are what an administrator does in the portal. The
// admin API, timed scenario events and (for policies) the Graph write
// endpoints all go through them, so every path changes state the same way.

// AddPolicy adds a CA policy from its raw Graph JSON and returns its id.
func (t *Tenant) AddPolicy(raw json.RawMessage) (string, error) {
	var id string
	err := t.Update(func(st *TenantState) error {
		p, err := newPolicy(t.ID, len(st.Policies), raw)
		if err != nil {
			return err
		}
		if st.PolicyByID(p.ID) != nil {
			return fmt.Errorf("policy id %s already exists", p.ID)
		}
		st.Policies = append(st.Policies, p)
		id = p.ID
		return nil
	})
	return id, err
}

// UpdatePolicy merges patch (a partial policy object, as a Graph PATCH body)
// into the policy with id. Top-level keys replace; nested objects merge.
func (t *Tenant) UpdatePolicy(id string, patch json.RawMessage) error {
	return t.Update(func(st *TenantState) error {
		i := slices.IndexFunc(st.Policies, func(p *Policy) bool { return strings.EqualFold(p.ID, id) })
		if i < 0 {
			return fmt.Errorf("policy %s: %w", id, ErrNotFound)
		}
		merged, err := mergePatch(st.Policies[i].Raw, patch)
		if err != nil {
			return fmt.Errorf("policy %s: %w", id, err)
		}
		merged, err = setJSONField(merged, "id", st.Policies[i].ID)
		if err != nil {
			return err
		}
		p, err := newPolicy(t.ID, i, merged)
		if err != nil {
			return err
		}
		st.Policies[i] = p
		return nil
	})
}

// DeletePolicy removes the policy with id.
func (t *Tenant) DeletePolicy(id string) error {
	return t.Update(func(st *TenantState) error {
		i := slices.IndexFunc(st.Policies, func(p *Policy) bool { return strings.EqualFold(p.ID, id) })
		if i < 0 {
			return fmt.Errorf("policy %s: %w", id, ErrNotFound)
		}
		st.Policies = slices.Delete(st.Policies, i, i+1)
		return nil
	})
}

// ChangePassword records a password change or admin reset at now. As in
// Entra it revokes every refresh token issued before it (50173).
func (t *Tenant) ChangePassword(user string, now time.Time) error {
	return t.updateUser(user, func(u *User) error {
		u.LastPasswordChange = now
		u.TokensValidFrom = now
		return nil
	})
}

// RevokeSessions is revokeSignInSessions: every refresh token and session
// issued before now stops working (50173).
func (t *Tenant) RevokeSessions(user string, now time.Time) error {
	return t.updateUser(user, func(u *User) error {
		u.TokensValidFrom = now
		return nil
	})
}

// SetAccountEnabled enables or disables the account (disabled: 50057).
func (t *Tenant) SetAccountEnabled(user string, enabled bool) error {
	return t.updateUser(user, func(u *User) error {
		u.AccountEnabled = enabled
		return nil
	})
}

// SetLocked locks or unlocks the account (locked: 50053).
func (t *Tenant) SetLocked(user string, locked bool) error {
	return t.updateUser(user, func(u *User) error {
		u.Locked = locked
		return nil
	})
}

// SetPerUserMFA sets the legacy per-user MFA state.
func (t *Tenant) SetPerUserMFA(user, state string) error {
	switch state {
	case PerUserMFADisabled, PerUserMFAEnabled, PerUserMFAEnforced:
	default:
		return fmt.Errorf("perUserMfa state %q: want disabled, enabled or enforced", state)
	}
	return t.updateUser(user, func(u *User) error {
		u.PerUserMFAState = state
		return nil
	})
}

// SetMembership adds (add=true) or removes member (a user id or UPN, or a
// group id) from group.
func (t *Tenant) SetMembership(group, member string, add bool) error {
	return t.Update(func(st *TenantState) error {
		g := st.Groups[strings.ToLower(group)]
		if g == nil {
			return fmt.Errorf("group %s: %w", group, ErrNotFound)
		}
		mid := strings.ToLower(member)
		if u := st.UserByUPNOrID(member); u != nil {
			mid = u.ID
		} else if st.Groups[mid] == nil {
			return fmt.Errorf("member %s: %w", member, ErrNotFound)
		}
		i := slices.Index(g.Members, mid)
		switch {
		case add && i < 0:
			g.Members = append(g.Members, mid)
		case !add && i >= 0:
			g.Members = slices.Delete(g.Members, i, i+1)
		}
		return nil
	})
}

func (t *Tenant) updateUser(user string, fn func(u *User) error) error {
	return t.Update(func(st *TenantState) error {
		u := st.UserByUPNOrID(user)
		if u == nil {
			return fmt.Errorf("user %s: %w", user, ErrNotFound)
		}
		return fn(u)
	})
}

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(orig, patch json.RawMessage) (json.RawMessage, error) {
	var o, p any
	if err := json.Unmarshal(orig, &o); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, fmt.Errorf("patch: %w", err)
	}
	if _, ok := p.(map[string]any); !ok {
		return nil, fmt.Errorf("patch: not a JSON object")
	}
	return json.Marshal(mergeValue(o, p))
}

func mergeValue(o, p any) any {
	pm, ok := p.(map[string]any)
	if !ok {
		return p
	}
	om, ok := o.(map[string]any)
	if !ok {
		om = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(om, k)
			continue
		}
		om[k] = mergeValue(om[k], v)
	}
	return om
}
