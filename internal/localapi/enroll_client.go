package localapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Enroll asks the daemon to run an interactive sign-in for tenant. Every
// "started" and "message" event goes to onEvent as it arrives (the
// instruction must be shown while the flow waits for the operator); the
// call returns when the daemon reports the result or the error. A failed
// sign-in is an *EnrollFailure carrying the daemon's diagnosis.
func (c *Client) Enroll(ctx context.Context, tenant string, req EnrollRequest, onEvent func(EnrollEvent)) (EnrollOutcome, error) {
	resp, err := c.send(ctx, c.stream, http.MethodPost, "/v1/tenants/"+url.PathEscape(tenant)+"/enroll", req)
	if err != nil {
		return EnrollOutcome{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ev EnrollEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return EnrollOutcome{}, fmt.Errorf("reading the daemon's enrollment stream: %w", err)
		}
		switch ev.Type {
		case EnrollResult:
			if ev.Result == nil {
				return EnrollOutcome{}, errors.New("the daemon reported success without a result")
			}
			return *ev.Result, nil
		case EnrollError:
			return EnrollOutcome{}, &EnrollFailure{Err: errors.New(ev.Error), Diagnosis: ev.Diagnosis}
		default:
			onEvent(ev)
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return EnrollOutcome{}, ctx.Err()
		}
		return EnrollOutcome{}, fmt.Errorf("reading the daemon's enrollment stream: %w", err)
	}
	return EnrollOutcome{}, errors.New("the daemon ended the enrollment without a result (was it stopped?)")
}

// EnrollRedirect sends the redirect URL the operator pasted to the
// daemon's pending enrollment.
func (c *Client) EnrollRedirect(ctx context.Context, enrollmentID, redirectURL string) error {
	return c.do(ctx, http.MethodPost, "/v1/enrollments/"+url.PathEscape(enrollmentID)+"/redirect", RedirectRequest{URL: redirectURL}, nil)
}
