package entrasim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

var sha256New = sha256.New

// Flows a session can begin with. A session that began with device code is
// "protocol tracked": the authenticationFlows condition keeps applying to
// its refreshes.
const (
	FlowDeviceCode        = "deviceCode"
	FlowAuthorizationCode = "authorizationCode"
)

// Session is a sign-in session: one interactive authentication and the
// refresh tokens descended from it.
type Session struct {
	ID       string
	TenantID string
	UserID   string
	ClientID string
	// AuthTime is the interactive authentication the session rests on; sign-in
	// frequency counts from it and refreshes never move it.
	AuthTime time.Time
	// MFATime is when MFA was last performed; zero means no MFA claim.
	MFATime time.Time
	// Flow is the flow the session began with (FlowDeviceCode, ...).
	Flow string
	// LastRedeemed is the last successful refresh-token redemption.
	LastRedeemed time.Time
	Redemptions  int
}

// HasMFA reports whether the session carries an MFA claim.
func (s *Session) HasMFA() bool { return !s.MFATime.IsZero() }

// sessionTable tracks a tenant's sessions for inspection; refresh tokens
// carry the session facts themselves, so validation never depends on it.
type sessionTable struct {
	mu sync.Mutex
	m  map[string]*Session
}

func (st *sessionTable) put(s Session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m == nil {
		st.m = map[string]*Session{}
	}
	cp := s
	st.m[s.ID] = &cp
}

func (st *sessionTable) redeemed(id string, at time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.m[id]; s != nil {
		s.LastRedeemed = at
		s.Redemptions++
	}
}

// Sessions returns copies of the tenant's sessions, newest first.
func (t *Tenant) Sessions() []Session {
	t.sessions.mu.Lock()
	defer t.sessions.mu.Unlock()
	out := make([]Session, 0, len(t.sessions.m))
	for _, s := range t.sessions.m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AuthTime.After(out[j].AuthTime) })
	return out
}

// refreshToken is the content of a simulator refresh token. It is sealed
// with an HMAC so it is opaque and unforgeable, and self-contained so that
// rotation costs no memory: every redemption mints a new token and old
// tokens stay valid until their own inactivity expiry, as in Entra.
type refreshToken struct {
	tenant, user, client, session uuid.UUID
	authTime, mfaTime             time.Time
	issued                        time.Time
	flow                          byte // 1 device code, 2 authorization code
}

const rtVersion = "1."
const rtPayloadLen = 4*16 + 3*8 + 1

func flowByte(f string) byte {
	if f == FlowDeviceCode {
		return 1
	}
	return 2
}

func flowName(b byte) string {
	if b == 1 {
		return FlowDeviceCode
	}
	return FlowAuthorizationCode
}

func unixNanoOrZero(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func timeOrZero(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n)).UTC()
}

// mintRefreshToken seals rt.
func (s *Server) mintRefreshToken(rt refreshToken) string {
	buf := make([]byte, 0, rtPayloadLen+8)
	buf = append(buf, rt.tenant[:]...)
	buf = append(buf, rt.user[:]...)
	buf = append(buf, rt.client[:]...)
	buf = append(buf, rt.session[:]...)
	buf = binary.BigEndian.AppendUint64(buf, unixNanoOrZero(rt.authTime))
	buf = binary.BigEndian.AppendUint64(buf, unixNanoOrZero(rt.mfaTime))
	buf = binary.BigEndian.AppendUint64(buf, unixNanoOrZero(rt.issued))
	buf = append(buf, rt.flow)
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	buf = append(buf, nonce[:]...) // two mints in one nanosecond still differ
	return rtVersion + base64.RawURLEncoding.EncodeToString(buf) + "." + base64.RawURLEncoding.EncodeToString(s.mac(buf))
}

var errBadRefreshToken = errors.New("malformed or forged refresh token")

// openRefreshToken verifies and decodes a refresh token.
func (s *Server) openRefreshToken(tok string) (refreshToken, error) {
	var rt refreshToken
	if !strings.HasPrefix(tok, rtVersion) {
		return rt, errBadRefreshToken
	}
	body, tag, ok := strings.Cut(tok[len(rtVersion):], ".")
	if !ok {
		return rt, errBadRefreshToken
	}
	buf, err1 := base64.RawURLEncoding.DecodeString(body)
	mac, err2 := base64.RawURLEncoding.DecodeString(tag)
	if err1 != nil || err2 != nil || len(buf) != rtPayloadLen+8 || !hmac.Equal(mac, s.mac(buf)) {
		return rt, errBadRefreshToken
	}
	copy(rt.tenant[:], buf[0:16])
	copy(rt.user[:], buf[16:32])
	copy(rt.client[:], buf[32:48])
	copy(rt.session[:], buf[48:64])
	rt.authTime = timeOrZero(binary.BigEndian.Uint64(buf[64:72]))
	rt.mfaTime = timeOrZero(binary.BigEndian.Uint64(buf[72:80]))
	rt.issued = timeOrZero(binary.BigEndian.Uint64(buf[80:88]))
	rt.flow = buf[88]
	return rt, nil
}

// deviceCodeGrant is an outstanding device authorization request.
type deviceCodeGrant struct {
	tenant     *Tenant
	clientID   string
	scopes     []string
	deviceCode string
	userCode   string
	expires    time.Time
	// Set by approval or decline.
	approved bool
	declined bool
	userID   string
	authTime time.Time
	mfa      bool
	redeemed bool
}

// authCodeGrant is an issued authorization code.
type authCodeGrant struct {
	tenant      *Tenant
	clientID    string
	redirectURI string
	scopes      []string
	challenge   string
	method      string
	nonce       string
	userID      string
	authTime    time.Time
	mfa         bool
	expires     time.Time
	redeemed    bool
}
