package probe

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// oidcScopes are added to the authorize request: offline_access is what
// makes Entra return a refresh token at all.
var oidcScopes = []string{"openid", "profile", "offline_access"}

// AuthCodeOptions say how the authorization code reaches the agent.
type AuthCodeOptions struct {
	// Out receives the sign-in URL and instructions.
	Out io.Writer
	// In supplies the redirect URL the operator pastes back from the
	// browser's address bar. Used when Listen is empty.
	In io.Reader
	// Listen is a loopback address ("127.0.0.1:8400") on which to receive
	// the browser's redirect directly.
	Listen string
	// OpenURL, when set, is called with the sign-in URL (a browser launcher;
	// tests use it to drive the simulator's authorize endpoint).
	OpenURL func(signInURL string) error
}

// pkce is one sign-in's proof key and state.
type pkce struct {
	verifier, challenge, state string
}

func newPKCE() (pkce, error) {
	buf := make([]byte, 48)
	if _, err := rand.Read(buf); err != nil {
		return pkce{}, err
	}
	verifier := base64.RawURLEncoding.EncodeToString(buf[:32])
	sum := sha256.Sum256([]byte(verifier))
	return pkce{
		verifier:  verifier,
		challenge: base64.RawURLEncoding.EncodeToString(sum[:]),
		state:     base64.RawURLEncoding.EncodeToString(buf[32:]),
	}, nil
}

// AuthCode enrolls with the authorization code flow and PKCE: the choice
// for tenants whose policies block the device code flow, and the only
// interactive flow of a confidential client.
func (e *Enroller) AuthCode(ctx context.Context, t Target, opts AuthCodeOptions) (Enrollment, error) {
	staging := &memoryCaches{}
	c, err := NewClient(t, staging, e.HTTP)
	if err != nil {
		return Enrollment{}, err
	}
	p, err := newPKCE()
	if err != nil {
		return Enrollment{}, fmt.Errorf("generate PKCE verifier: %w", err)
	}
	var (
		ln          net.Listener
		redirectURI = t.authorityHost() + "/common/oauth2/nativeclient"
	)
	if opts.Listen != "" {
		if ln, err = listenLoopback(opts.Listen); err != nil {
			return Enrollment{}, err
		}
		defer ln.Close()
		redirectURI = "http://" + ln.Addr().String() + "/"
	} else if opts.In == nil {
		return Enrollment{}, errors.New("authorization code flow: no way to receive the redirect (give a listen address or an input)")
	}
	signInURL, err := c.authCodeURL(ctx, redirectURI, p)
	if err != nil {
		return Enrollment{}, fmt.Errorf("tenant %s: build sign-in URL: %w", t.TenantID, err)
	}
	fmt.Fprintf(opts.Out, "Open this URL in a browser and sign in as %s:\n\n%s\n\n", t.ServiceAccount, signInURL)
	if ln == nil {
		fmt.Fprintln(opts.Out, "The browser then lands on a blank page: copy the full address from the address bar and paste it here.")
	} else {
		fmt.Fprintf(opts.Out, "Waiting for the browser to return to %s ...\n", redirectURI)
	}
	if opts.OpenURL != nil {
		if err := opts.OpenURL(signInURL); err != nil {
			fmt.Fprintf(opts.Out, "(could not open the URL automatically: %v)\n", err)
		}
	}
	var code string
	if ln != nil {
		code, err = receiveRedirect(ctx, ln, p.state, opts.Out)
	} else {
		code, err = readPastedRedirect(ctx, opts.In, p.state, opts.Out)
	}
	if err != nil {
		return Enrollment{}, fmt.Errorf("tenant %s: %w", t.TenantID, err)
	}
	ar, err := c.redeemCode(ctx, code, redirectURI, p.verifier)
	if err != nil {
		return Enrollment{}, fmt.Errorf("tenant %s: redeem authorization code: %w", t.TenantID, err)
	}
	return e.commit(t, AuthFlowAuthCode, ar, staging)
}

// authCodeURL asks MSAL for the authorize URL and adds what its public API
// cannot: the state and the PKCE challenge.
func (c *Client) authCodeURL(ctx context.Context, redirectURI string, p pkce) (string, error) {
	scopes := append(append([]string(nil), c.target.RequestScopes()...), oidcScopes...)
	var (
		raw string
		err error
	)
	if c.pub != nil {
		raw, err = c.pub.AuthCodeURL(ctx, c.target.ClientAppID, redirectURI, scopes, public.WithLoginHint(c.target.ServiceAccount))
	} else {
		raw, err = c.conf.AuthCodeURL(ctx, c.target.ClientAppID, redirectURI, scopes, confidential.WithLoginHint(c.target.ServiceAccount))
	}
	if err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("state", p.state)
	q.Set("code_challenge", p.challenge)
	q.Set("code_challenge_method", "S256")
	q.Set("response_mode", "query")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (c *Client) redeemCode(ctx context.Context, code, redirectURI, verifier string) (public.AuthResult, error) {
	scopes := c.target.RequestScopes()
	if c.pub != nil {
		return c.pub.AcquireTokenByAuthCode(ctx, code, redirectURI, scopes, public.WithChallenge(verifier))
	}
	return c.conf.AcquireTokenByAuthCode(ctx, code, redirectURI, scopes, confidential.WithChallenge(verifier))
}

// listenLoopback refuses anything but a loopback address: the redirect
// carries an authorization code and must never be reachable from outside.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("--listen %q: must be a loopback address such as 127.0.0.1:8400", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", addr, err)
	}
	return ln, nil
}

// codeFromRedirect extracts the authorization code from a redirect URL (or
// its query string alone) after checking the state.
func codeFromRedirect(raw, wantState string) (string, error) {
	raw = strings.TrimSpace(raw)
	var q url.Values
	if u, err := url.Parse(raw); err == nil && u.RawQuery != "" {
		q = u.Query()
	} else if q, err = url.ParseQuery(strings.TrimPrefix(raw, "?")); err != nil {
		return "", fmt.Errorf("not a redirect URL: %w", err)
	}
	if e := q.Get("error"); e != "" {
		// error_description carries the AADSTS code and no secret.
		return "", fmt.Errorf("sign-in failed: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != wantState {
		return "", errStateMismatch
	}
	code := q.Get("code")
	if code == "" {
		return "", errors.New("the redirect URL carries no code parameter")
	}
	return code, nil
}

// readPastedRedirect reads lines until one is a redirect for this sign-in.
func readPastedRedirect(ctx context.Context, in io.Reader, state string, out io.Writer) (string, error) {
	type answer struct {
		code string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			code, err := codeFromRedirect(line, state)
			if errors.Is(err, errStateMismatch) {
				fmt.Fprintln(out, err)
				continue
			}
			ch <- answer{code, err}
			return
		}
		ch <- answer{"", errors.New("input ended before a redirect URL was pasted")}
	}()
	select {
	case a := <-ch:
		return a.code, a.err
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for the pasted redirect URL: %w", ctx.Err())
	}
}

// receiveRedirect serves the loopback redirect until a request with the
// right state arrives.
func receiveRedirect(ctx context.Context, ln net.Listener, state string, out io.Writer) (string, error) {
	type answer struct {
		code string
		err  error
	}
	ch := make(chan answer, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		code, err := codeFromRedirect(r.URL.String(), state)
		if errors.Is(err, errStateMismatch) {
			fmt.Fprintln(out, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		} else {
			fmt.Fprintln(w, "tokenhealth: sign-in received. You can close this window.")
		}
		select {
		case ch <- answer{code, err}:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		// Graceful: the browser still gets its "you can close this window".
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	select {
	case a := <-ch:
		return a.code, a.err
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for the browser redirect: %w", ctx.Err())
	}
}
