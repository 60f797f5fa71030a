package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// DiagnoseError classifies an error returned by MSAL Go (or by any HTTP
// client on the probe's path).
func DiagnoseError(err error) Diagnosis { return Hints{}.DiagnoseError(err) }

// DiagnoseError classifies err using the hints. For an MSAL CallErr it reads
// the structured body (see ParseAADError) and the HTTP status; for network
// failures, deadlines and cancellations it answers transient without
// looking at the text; TLS verification failures are configuration problems,
// not transient ones.
func (h Hints) DiagnoseError(err error) Diagnosis {
	if err == nil {
		d := h.Diagnose("")
		d.Explanation = "There was no error."
		d.Remediation = ""
		return d
	}
	if aad, ok := ParseAADError(err); ok {
		return h.diagnoseCallErr(err, aad)
	}
	if d, ok := diagnoseTransport(err); ok {
		return d
	}
	return h.Diagnose(err.Error())
}

func (h Hints) diagnoseCallErr(err error, aad *AADError) Diagnosis {
	ce, _ := asCallErr(err)
	var b strings.Builder
	b.WriteString(callErrMessage(ce))
	// The structured fields win over whatever the message text holds: they
	// are what Entra sent, in Entra's own field names.
	if aad.Error != "" {
		b.WriteString("\nerror: " + aad.Error)
	}
	if aad.SubError != "" {
		b.WriteString("\nsuberror: " + aad.SubError)
	}
	for _, c := range aad.ErrorCodes {
		b.WriteString("\nAADSTS" + itoa(c))
	}
	if !strings.Contains(b.String(), aad.ErrorDescription) {
		b.WriteString("\n" + aad.ErrorDescription)
	}
	if aad.HTTPStatus != 0 {
		b.WriteString("\nstatus code was " + strconv.Itoa(aad.HTTPStatus))
	}
	if isDeviceCodeRequest(ce.Req) {
		b.WriteString("\nrequest: device_code grant")
	}
	d := h.Diagnose(b.String())
	if aad.Error != "" {
		d.Error = strings.ToLower(aad.Error)
	}
	if aad.SubError != "" {
		d.SubError = strings.ToLower(aad.SubError)
	}
	return d
}

// isDeviceCodeRequest tells whether the failed request belongs to the device
// code flow: the /devicecode endpoint, or a token poll with
// grant_type=device_code. MSAL sets Request.GetBody, which re-creates the
// form without consuming anything; only grant_type is looked at (the form
// of a refresh carries the refresh token, which must go nowhere).
func isDeviceCodeRequest(req *http.Request) bool {
	if req == nil || req.URL == nil {
		return false
	}
	if strings.HasSuffix(req.URL.Path, "/devicecode") {
		return true
	}
	if req.GetBody == nil {
		return false
	}
	rc, err := req.GetBody()
	if err != nil {
		return false
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxBody))
	if err != nil {
		return false
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return false
	}
	g := form.Get("grant_type")
	return g == "device_code" || g == "urn:ietf:params:oauth:grant-type:device_code"
}

// diagnoseTransport recognises failures below HTTP by type, so a wrapped
// message in any language cannot hide them.
func diagnoseTransport(err error) (Diagnosis, bool) {
	kind := ""
	var dnsErr *net.DNSError
	var netErr net.Error
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	switch {
	case errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &invalidCert):
		d := Diagnose("")
		d.Values[ValueNetwork] = "tls"
		d.Explanation = "TLS certificate verification failed: the agent does not trust the certificate it was shown " +
			"(a TLS-inspecting proxy, a missing CA bundle, or a wrong host)."
		d.Remediation = "Configure the proxy's CA bundle for the agent, or exempt login.microsoftonline.com from TLS inspection."
		return d, true
	case errors.Is(err, transport.ErrResponseTooLarge) || strings.Contains(err.Error(), transport.ErrResponseTooLargeText):
		// MSAL does not always wrap with %w; the cap's message is fixed.
		d := Diagnose("")
		d.Cause = CauseTransient
		d.Transient = true
		d.Values[ValueNetwork] = "response too large"
		d.Explanation = "The answer was larger than the agent accepts (" + formatLimitFrom(err) +
			"): a proxy or endpoint on the path is misbehaving; this says nothing about the token."
		d.Remediation = causes[CauseTransient].remediation
		return d, true
	case errors.Is(err, context.Canceled):
		kind = "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	case errors.As(err, &dnsErr):
		kind = "dns"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF):
		kind = "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "connection refused"
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		kind = "unreachable"
	case errors.As(err, &netErr) && netErr.Timeout():
		kind = "timeout"
	case errors.As(err, &opErr):
		kind = "network"
	default:
		return Diagnosis{}, false
	}
	d := Diagnose("")
	d.Cause = CauseTransient
	d.Transient = true
	d.Values[ValueNetwork] = kind
	d.Explanation = "The request failed on the network (" + kind + "); this says nothing about the token."
	if kind == "cancelled" {
		d.Explanation = "The request was cancelled (shutdown or an abandoned probe); this says nothing about the token."
	}
	d.Remediation = causes[CauseTransient].remediation
	return d, true
}

// formatLimitFrom picks "the 16 MiB limit" out of a ResponseTooLargeError's
// message, which may have lost its type inside MSAL.
func formatLimitFrom(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, transport.ErrResponseTooLargeText+" "); i >= 0 {
		rest := msg[i+len(transport.ErrResponseTooLargeText)+1:]
		if j := strings.Index(rest, " limit"); j >= 0 {
			return rest[:j+len(" limit")]
		}
	}
	return "the size limit"
}
