package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Client is the CLI's connection to the daemon.
type Client struct {
	socket string
	http   *http.Client
	// stream has no overall timeout: an enrollment waits for a person.
	stream *http.Client
	// maxAnswer is maxAnswerBytes; tests lower it.
	maxAnswer int64
}

// ErrDaemonDown says the daemon could not be reached; its message names the
// socket so the operator knows where the CLI looked.
type ErrDaemonDown struct {
	Socket string
	Err    error
}

func (e *ErrDaemonDown) Error() string {
	return fmt.Sprintf("cannot reach the tokenhealth daemon at %s (%v); is the service running? (systemctl status tokenhealth)", e.Socket, e.Err)
}

func (e *ErrDaemonDown) Unwrap() error { return e.Err }

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{socket: path, http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, stream: &http.Client{Transport: tr},
		maxAnswer: maxAnswerBytes}
}

func (c *Client) Status(ctx context.Context) (StatusResponse, error) {
	var out StatusResponse
	return out, c.do(ctx, http.MethodGet, "/v1/status", nil, &out)
}

func (c *Client) Explain(ctx context.Context, tenant string) (Explanation, error) {
	var out Explanation
	return out, c.do(ctx, http.MethodGet, "/v1/tenants/"+url.PathEscape(tenant)+"/explain", nil, &out)
}

func (c *Client) History(ctx context.Context, tenant string, limit int) (HistoryResponse, error) {
	var out HistoryResponse
	return out, c.do(ctx, http.MethodGet, "/v1/tenants/"+url.PathEscape(tenant)+"/history?limit="+strconv.Itoa(limit), nil, &out)
}

func (c *Client) Policies(ctx context.Context, tenant string) (PoliciesResponse, error) {
	var out PoliciesResponse
	return out, c.do(ctx, http.MethodGet, "/v1/tenants/"+url.PathEscape(tenant)+"/policies", nil, &out)
}

func (c *Client) Check(ctx context.Context, tenant string) (CheckResponse, error) {
	var out CheckResponse
	return out, c.do(ctx, http.MethodPost, "/v1/tenants/"+url.PathEscape(tenant)+"/check", nil, &out)
}

func (c *Client) Silences(ctx context.Context) ([]Silence, error) {
	var out []Silence
	return out, c.do(ctx, http.MethodGet, "/v1/silences", nil, &out)
}

func (c *Client) AddSilence(ctx context.Context, req SilenceRequest) (Silence, error) {
	var out Silence
	return out, c.do(ctx, http.MethodPost, "/v1/silences", req, &out)
}

func (c *Client) RemoveSilence(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/silences/"+url.PathEscape(id), nil, nil)
}

func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/reload", nil, nil)
}

func (c *Client) Backup(ctx context.Context, path string) error {
	return c.do(ctx, http.MethodPost, "/v1/db/backup", BackupRequest{Path: path}, nil)
}

// APIError is a non-2xx answer from the daemon.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// maxAnswerBytes bounds what the CLI reads from one answer of the daemon.
// The largest real answer (status of 10,000 tenants) is a few MiB; the
// bound keeps a runaway answer from exhausting the CLI's memory.
const maxAnswerBytes = 64 << 20

// AnswerTooLargeError reports an answer cut at the limit: decoding the cut
// answer would only say "unexpected end of JSON input".
type AnswerTooLargeError struct {
	Method, Path string
	Limit        int64 // bytes
}

func (e *AnswerTooLargeError) Error() string {
	limit := fmt.Sprintf("%d bytes", e.Limit)
	if e.Limit%(1<<20) == 0 {
		limit = fmt.Sprintf("%d MiB", e.Limit>>20)
	}
	return fmt.Sprintf("answer from the daemon to %s %s exceeds the %s limit", e.Method, e.Path, limit)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, c.http, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// One byte past the limit tells a full-sized answer from a longer one.
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer+1))
	if err != nil {
		return err
	}
	if int64(len(data)) > c.maxAnswer {
		return &AnswerTooLargeError{Method: method, Path: path, Limit: c.maxAnswer}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// send performs the request and turns a refused dial into ErrDaemonDown and
// a non-2xx answer into APIError (closing the body); on success the caller
// owns the response body.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://tokenhealth"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return nil, &ErrDaemonDown{Socket: c.socket, Err: opErr.Err}
		}
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e ErrorResponse
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return nil, &APIError{Status: resp.StatusCode, Message: e.Error}
		}
		return nil, &APIError{Status: resp.StatusCode, Message: resp.Status}
	}
	return resp, nil
}
