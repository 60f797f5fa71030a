package notify

import (
	"errors"
	"fmt"
	"net/url"
)

// RedactURL keeps the scheme and host of a URL and drops path, query and
// user info: incoming-webhook URLs (Slack, Teams) carry their credential in
// the path or query.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<url>"
	}
	return u.Scheme + "://" + u.Host + "/<redacted>"
}

// RedactError rewrites any *url.Error in err so its URL is redacted, and
// keeps the rest of the message: net/http puts the full request URL in
// every transport error, and that text reaches logs and the outbox.
func RedactError(err error) error {
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	return &redactedError{msg: fmt.Sprintf("%s %s: %v", ue.Op, RedactURL(ue.URL), ue.Err), cause: ue.Err}
}

type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps timeouts and dial errors classifiable (net.Error).
func (e *redactedError) Unwrap() error { return e.cause }
