package notify

import (
	"io"
	"net/http"
)

// SendHTTP sends a prepared request for an integration and classifies the
// outcome the way every HTTP integration must: a connection failure is
// retried, a 2xx is success, anything else goes through HTTPError (5xx and
// 429 retried, other 4xx not). Only a short snippet of an error body is
// read, so a misbehaving endpoint cannot make us buffer a large answer.
func SendHTTP(hc *http.Client, integration string, req *http.Request) (retry bool, err error) {
	resp, err := hc.Do(req)
	if err != nil {
		return true, &Error{Integration: integration, Reason: FailConnection, Err: RedactError(err)}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	return HTTPError(integration, resp, snippet)
}
