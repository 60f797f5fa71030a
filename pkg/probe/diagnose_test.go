package probe

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// sample is one pasted error under testdata/diagnose and what it must give.
type sample struct {
	file       string
	cause      Cause
	verdict    verdict
	reEnroll   bool
	codes      []int
	oauthErr   string
	subErr     string
	values     map[string]string // a subset that must match exactly
	absentKeys []string          // values that must not be extracted
}

var samples = []sample{
	// Sign-in frequency, in every wrapper seen in the wild.
	{file: "70043_token_endpoint_body.json", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		oauthErr: "invalid_grant", subErr: "token_expired", values: map[string]string{
			ValueIssuedAt: "2026-11-20T07:09:26.9675714Z", ValueMaxLifetimeSeconds: "43200",
			ValueTraceID: "3f9c1a52-7d4e-4b8a-9e21-6c0d5b7a1e00", ValueCorrelationID: "a41d7e93-2b6c-4f0e-8d15-97c3e2b4f6a8",
			ValueTimestamp: "2026-11-21 06:17:23Z", ValueErrorHost: "login.microsoftonline.com"}},
	{file: "70043_interaction_required_vscode.txt", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		oauthErr: "interaction_required", subErr: "token_expired", values: map[string]string{
			ValueMaxLifetimeSeconds: "86400", ValueHTTPStatus: "400", ValueIssuedAt: "2026-10-17T09:12:20.2972891Z"}},
	{file: "70043_python_dict_repr.txt", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		oauthErr: "invalid_grant", subErr: "token_expired", values: map[string]string{ValueMaxLifetimeSeconds: "86400"},
		absentKeys: []string{ValueTraceID, ValueCorrelationID}},
	{file: "70043_azure_cli_plain.txt", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		values: map[string]string{ValueMaxLifetimeSeconds: "43200", ValueTraceID: "150de44a-fe53-4165-8f75-59d63f6d1e00",
			ValueTimestamp: "2026-04-15 12:43:15Z"}},
	{file: "70043_sharepoint_odata_error.json", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		values: map[string]string{ValueMaxLifetimeSeconds: "57600", ValueIssuedAt: "2026-09-23T09:30:00.6433967Z"}},
	{file: "70043_storage_explorer_nested_escape.json", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		values: map[string]string{ValueMaxLifetimeSeconds: "2592000", ValueCorrelationID: "39b1cf5f-85a0-421f-aba7-d0948bc4a937"}},
	{file: "70043_azure_identity_python.txt", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		oauthErr: "invalid_grant", values: map[string]string{ValueMaxLifetimeSeconds: "1209600"}},
	{file: "70043_cipp_short.txt", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		oauthErr: "interaction_required", values: map[string]string{ValueMaxLifetimeSeconds: "3600", ValueIssuedAt: "2025-11-10T02:49:07.6225734Z"}},
	{file: "70043_msal_go_callerr.txt", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		oauthErr: "invalid_grant", subErr: "bad_token", values: map[string]string{ValueMaxLifetimeSeconds: "172800", ValueHTTPStatus: "400"}},
	{file: "unicode_escaped_70043.txt", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70043},
		oauthErr: "invalid_grant", subErr: "token_expired", values: map[string]string{ValueMaxLifetimeSeconds: "43200",
			ValueTraceID: "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f00", ValueErrorHost: "login.microsoftonline.com"}},
	{file: "70044_session_sif.txt", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{70044}},

	// Refresh-token lifetime.
	{file: "700082_one_line.txt", cause: CauseRefreshTokenInactive, verdict: definitive, reEnroll: true, codes: []int{700082},
		values: map[string]string{ValueInactiveFor: "90.00:00:00", ValueIssuedAt: "2026-02-20T02:58:17.0350262Z"}},
	{file: "700082_msal_node_log.txt", cause: CauseRefreshTokenInactive, verdict: definitive, reEnroll: true, codes: []int{700082},
		oauthErr: "invalid_grant", subErr: "bad_token", values: map[string]string{ValueTraceID: "07d165d9-e98a-4350-ba2c-587311063f01"}},
	{file: "700082_msal_dotnet_exception.txt", cause: CauseRefreshTokenInactive, verdict: definitive, reEnroll: true, codes: []int{700082},
		values: map[string]string{ValueInactiveFor: "90.00:00:00"}},
	{file: "700082_html_entity.txt", cause: CauseRefreshTokenInactive, verdict: definitive, reEnroll: true, codes: []int{700082},
		values: map[string]string{ValueIssuedAt: "2026-01-28T19:43:52.3866932Z"}},
	{file: "700082_wrapped_lines.txt", cause: CauseRefreshTokenInactive, verdict: definitive, reEnroll: true, codes: []int{700082},
		values: map[string]string{ValueCorrelationID: "06fd79c9-fe43-4f61-bb6f-22df21f2c597"}},
	{file: "70008_inactivity_adal.txt", cause: CauseRefreshTokenInactive, verdict: definitive, reEnroll: true, codes: []int{70008}},
	{file: "70008_revoked_sts.txt", cause: CauseTokenRevoked, verdict: definitive, reEnroll: true, codes: []int{70008},
		oauthErr: "invalid_grant", subErr: "bad_token", values: map[string]string{ValueTokensValidFrom: "2026-11-02T09:15:00.0000000Z"}},
	{file: "700084_spa.json", cause: CauseRefreshTokenInactive, verdict: definitive, reEnroll: true, codes: []int{700084},
		oauthErr: "invalid_grant", subErr: "bad_token", values: map[string]string{ValueMaxLifetime: "1.00:00:00"}},

	// Password change and revocation: decided by the words of 50173.
	{file: "50173_password_azure_cli.txt", cause: CausePasswordChanged, verdict: definitive, reEnroll: true, codes: []int{50173},
		oauthErr: "invalid_grant", values: map[string]string{ValueIssuedAt: "2026-01-05T05:09:31.5970000Z",
			ValueTokensValidFrom: "2026-01-14T06:26:06.0000000Z"}},
	{file: "50173_msal_node_vscode.txt", cause: CausePasswordChanged, verdict: definitive, reEnroll: true, codes: []int{50173},
		oauthErr: "invalid_grant", values: map[string]string{ValueTokensValidFrom: "2026-10-13T19:49:51.0000000Z"}},
	{file: "50173_adal4j_escaped_slashes.txt", cause: CausePasswordChanged, verdict: definitive, reEnroll: true, codes: []int{50173},
		oauthErr: "invalid_grant", values: map[string]string{ValueErrorHost: "login.microsoftonline.com"}},
	{file: "50173_admin_revoke.txt", cause: CauseTokenRevoked, verdict: definitive, reEnroll: true, codes: []int{50173}, oauthErr: "invalid_grant"},
	{file: "50126_bad_password.txt", cause: CausePasswordChanged, verdict: definitive, reEnroll: true, codes: []int{50126}, oauthErr: "invalid_grant"},
	{file: "50055_password_expired_escaped.txt", cause: CausePasswordExpired, verdict: definitive, reEnroll: true, codes: []int{50055},
		oauthErr: "invalid_grant", subErr: "user_password_expired"},
	{file: "user_password_expired_suberror_only.json", cause: CausePasswordExpired, verdict: definitive, reEnroll: true,
		oauthErr: "invalid_grant", subErr: "user_password_expired"},

	// MFA.
	{file: "50076_oauthlib.txt", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{50076}, oauthErr: "invalid_grant",
		values: map[string]string{ValueResourceID: "00000003-0000-0000-c000-000000000000"}},
	{file: "50076_msal_objc.txt", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{50076},
		oauthErr: "invalid_grant", subErr: "basic_action", values: map[string]string{ValueResourceID: "00000002-0000-0ff1-ce00-000000000000"}},
	{file: "50076_powershell_connect.txt", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{50076},
		values: map[string]string{ValueResourceID: "797f4846-ba00-4fd7-ba43-dac1f8f63013"}},
	{file: "50076_lowercase_prefix.txt", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{50076}},
	{file: "url_encoded_json_50076.txt", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{50076},
		oauthErr: "interaction_required", subErr: "basic_action", values: map[string]string{ValueResourceID: "00000003-0000-0000-c000-000000000000"}},
	{file: "50076_claims_challenge_capolids.json", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{50076},
		oauthErr: "interaction_required", subErr: "basic_action", values: map[string]string{
			ValueCAPolicyIDs: "8a1f6c2e-3b4d-4e5f-9a6b-7c8d9e0f1a2b,9b2e7d3f-4c5e-4f6a-8b7c-8d9e0f1a2b3c"}},
	{file: "50079_registration.txt", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{50079},
		oauthErr: "interaction_required", subErr: "basic_action"},
	{file: "50074_strong_auth.txt", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{50074}, oauthErr: "interaction_required", subErr: "basic_action"},
	{file: "50158_external_challenge.txt", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{50158}},
	{file: "53004_proofup_blocked.txt", cause: CauseMFARequired, verdict: definitive, reEnroll: true, codes: []int{53004}},
	{file: "50078_go_oauth2_authd.txt", cause: CauseMFAExpiredRemember, verdict: definitive, reEnroll: true, codes: []int{50078},
		oauthErr: "invalid_grant", values: map[string]string{ValueErrorHost: "login.microsoftonline.com", ValueTimestamp: "2026-03-06 20:33:47Z"}},
	{file: "50078_json_basic_action.json", cause: CauseMFAExpiredRemember, verdict: definitive, reEnroll: true, codes: []int{50078},
		oauthErr: "invalid_grant", subErr: "basic_action"},

	// Conditional Access blocks and device rules.
	{file: "53003_interaction_required_login_microsoft_com.json", cause: CauseCABlocked, verdict: definitive, codes: []int{53003},
		oauthErr: "interaction_required", subErr: "message_only", values: map[string]string{ValueErrorHost: "login.microsoft.com"},
		absentKeys: []string{ValueAuthFlow}},
	{file: "53003_soap_fault.txt", cause: CauseCABlocked, verdict: definitive, codes: []int{53003}, values: map[string]string{ValueHTTPStatus: "400"}},
	{file: "53003_device_code_flow.txt", cause: CauseCABlocked, verdict: definitive, reEnroll: true, codes: []int{53003},
		values: map[string]string{ValueAuthFlow: "deviceCode"}},
	{file: "53003_html_signin_page.html", cause: CauseCABlocked, verdict: definitive, codes: []int{53003}, values: map[string]string{
		ValueTraceID: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c00", ValueCorrelationID: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
		ValueAppID: "6e5d4c3b-2a19-4807-b6f5-e4d3c2b1a090", ValueIPAddress: "203.0.113.45", ValueTimestamp: "2026-11-26T18:04:12.931Z",
		ValueAppName: "Provisioning Platform"}},
	{file: "msal_python_silent_dict_53003.txt", cause: CauseCABlocked, verdict: definitive, codes: []int{53003},
		oauthErr: "interaction_required", subErr: "message_only", values: map[string]string{ValueTraceID: "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c00"}},
	{file: "signin_log_53003_portal.txt", cause: CauseCABlocked, verdict: definitive, reEnroll: true, codes: []int{53003},
		values: map[string]string{ValueAuthFlow: "deviceCode", ValueRequestID: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e00"}},
	{file: "url_encoded_redirect_53003.txt", cause: CauseCABlocked, verdict: definitive, codes: []int{53003}, oauthErr: "access_denied",
		values: map[string]string{ValueTraceID: "9b0c1d2e-3f4a-4b5c-8d6e-7f8a9b0c1d00", ValueTimestamp: "2026-11-01 11:11:11Z"}},
	{file: "530003_html_managed_device.html", cause: CauseDeviceCompliance, verdict: definitive, codes: []int{530003},
		values: map[string]string{ValueRequestID: "b0c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d00"}, absentKeys: []string{ValueResourceID}},
	{file: "53000_compliant_device.txt", cause: CauseDeviceCompliance, verdict: definitive, codes: []int{53000}},
	{file: "53001_domain_joined.txt", cause: CauseDeviceCompliance, verdict: definitive, codes: []int{53001}},
	{file: "50097_device_auth.txt", cause: CauseDeviceCompliance, verdict: definitive, codes: []int{50097}, subErr: "additional_action", oauthErr: "invalid_grant"},

	// Account, consent, application, tenant, client credentials.
	{file: "50057_chinacloud.txt", cause: CauseAccountDisabled, verdict: definitive, reEnroll: true, codes: []int{50057}, oauthErr: "invalid_grant",
		values: map[string]string{ValueErrorHost: "login.chinacloudapi.cn"}},
	{file: "50057_go_oauth2_three_strings.txt", cause: CauseAccountDisabled, verdict: definitive, reEnroll: true, codes: []int{50057}, oauthErr: "invalid_grant"},
	{file: "500571_guest_disabled_escaped.json", cause: CauseAccountDisabled, verdict: definitive, reEnroll: true, codes: []int{500571},
		values: map[string]string{ValueTraceID: "3333c240-b7e4-4a1a-abdd-9cd827641200"}},
	{file: "50053_locked.txt", cause: CauseAccountLocked, verdict: definitive, codes: []int{50053}},
	{file: "50034_user_not_found.txt", cause: CauseOther, verdict: definitive, reEnroll: true, codes: []int{50034}},
	{file: "50105_not_assigned.txt", cause: CauseOther, verdict: definitive, codes: []int{50105}},
	{file: "700003_device_not_found.txt", cause: CauseOther, verdict: definitive, reEnroll: true, codes: []int{700003}, oauthErr: "invalid_grant", subErr: "bad_token"},
	{file: "65001_consent_suberror.json", cause: CauseConsentRequired, verdict: definitive, reEnroll: true, codes: []int{65001},
		oauthErr: "invalid_grant", subErr: "consent_required", values: map[string]string{
			ValueAppID: "5617d05d-fdc6-4c56-b1dc-38b8576cfafd", ValueAppName: "Provisioning Sync"}},
	{file: "65001_msal_dotnet.txt", cause: CauseConsentRequired, verdict: definitive, reEnroll: true, codes: []int{65001}, oauthErr: "invalid_grant",
		values: map[string]string{ValueAppName: "WebApi-SharedTokenCache"}},
	{file: "700016_html_page.html", cause: CauseAppNotFound, verdict: definitive, reEnroll: true, codes: []int{700016},
		values: map[string]string{ValueAppID: "6e5d4c3b-2a19-4807-b6f5-e4d3c2b1a090", ValueTenant: "Contoso"}},
	{file: "7000112_app_disabled.txt", cause: CauseAppNotFound, verdict: definitive, reEnroll: true, codes: []int{7000112}},
	{file: "500011_resource_principal.txt", cause: CauseAppNotFound, verdict: definitive, reEnroll: true, codes: []int{500011},
		values: map[string]string{ValueResourceID: "https://outlook.office365.com"}},
	{file: "90002_tenant_not_found.json", cause: CauseTenantNotFound, verdict: definitive, codes: []int{90002}, oauthErr: "invalid_request",
		values: map[string]string{ValueTenant: "contoso-old.onmicrosoft.com"}},
	{file: "7000215_msal_node.txt", cause: CauseInvalidClientCredentials, verdict: definitive, codes: []int{7000215}, oauthErr: "invalid_client",
		values: map[string]string{ValueAppID: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}},
	{file: "7000222_powershell.txt", cause: CauseInvalidClientCredentials, verdict: definitive, codes: []int{7000222}, oauthErr: "invalid_client",
		values: map[string]string{ValueAppID: "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"}},
	{file: "pnp_7000218_public_client_flows.txt", cause: CauseInvalidClientCredentials, verdict: definitive, codes: []int{7000218},
		values: map[string]string{ValueTimestamp: "2026-09-24 11:22:33Z"}},
	{file: "dotnet_webexception_70002_50012.txt", cause: CauseInvalidClientCredentials, verdict: definitive, codes: []int{70002, 50012},
		values: map[string]string{ValueHTTPStatus: "401"}},
	{file: "credential_echo_no_leak.txt", cause: CauseInvalidClientCredentials, verdict: definitive, codes: []int{7000215}, oauthErr: "invalid_client",
		absentKeys: []string{ValueCorrelationID}},

	// Device-code enrollment outcomes.
	{file: "70000_authorization_declined_device_code.txt", cause: CauseOther, verdict: definitive, reEnroll: true, codes: []int{70000},
		oauthErr: "authorization_declined", values: map[string]string{ValueHTTPStatus: "400"}},
	{file: "70019_expired_device_code.txt", cause: CauseOther, verdict: definitive, reEnroll: true, codes: []int{70019}, oauthErr: "expired_token"},
	{file: "50089_flow_token.txt", cause: CauseOther, verdict: definitive, reEnroll: true, codes: []int{50089}},

	// Transient: never a verdict on the token.
	{file: "70000_refresh_retry.txt", cause: CauseTransient, verdict: transient, codes: []int{70000}, oauthErr: "invalid_grant"},
	{file: "70002_70000_two_codes.txt", cause: CauseTransient, verdict: transient, codes: []int{70002, 70000}, oauthErr: "invalid_grant",
		values: map[string]string{ValueHTTPStatus: "400"}},
	{file: "50196_loop.txt", cause: CauseTransient, verdict: transient, codes: []int{50196}},
	{file: "90055_throttled.json", cause: CauseTransient, verdict: transient, codes: []int{90055}, oauthErr: "temporarily_unavailable",
		absentKeys: []string{ValueHTTPStatus}},
	{file: "http_503_html_body.txt", cause: CauseTransient, verdict: transient, values: map[string]string{ValueHTTPStatus: "503"}},
	{file: "http_429_temporarily_unavailable.txt", cause: CauseTransient, verdict: transient, oauthErr: "temporarily_unavailable",
		values: map[string]string{ValueHTTPStatus: "429"}},
	{file: "timeout_go_context.txt", cause: CauseTransient, verdict: transient, values: map[string]string{ValueNetwork: "timeout"}},
	{file: "dns_go_lookup.txt", cause: CauseTransient, verdict: transient, values: map[string]string{ValueNetwork: "dns"}},
	{file: "econnreset_node.txt", cause: CauseTransient, verdict: transient, values: map[string]string{ValueNetwork: "connection reset"}},

	// Several codes: the most specific definitive cause wins, all are listed.
	{file: "several_codes_mfa_then_block.txt", cause: CauseCABlocked, verdict: definitive, codes: []int{50076, 53003, 50196}},
	{file: "several_codes_transient_and_sif.txt", cause: CauseSignInFrequency, verdict: definitive, reEnroll: true, codes: []int{90055, 70043},
		values: map[string]string{ValueMaxLifetimeSeconds: "3600"}},

	// Graph and unknowns.
	{file: "graph_authorization_request_denied.json", cause: CauseConsentRequired, verdict: definitive, reEnroll: true,
		values: map[string]string{ValueGraphError: "Authorization_RequestDenied", ValueRequestID: "3f4a5b6c-7d8e-4f9a-8b0c-1d2e3f4a5b6c"}},
	{file: "graph_invalid_authentication_token.txt", cause: CauseOther, verdict: undecided,
		values: map[string]string{ValueGraphError: "InvalidAuthenticationToken", ValueHTTPStatus: "401"}},
	{file: "unknown_code.txt", cause: CauseOther, verdict: undecided, codes: []int{135011}},
	{file: "500133_assertion_time.txt", cause: CauseOther, verdict: undecided, codes: []int{500133}},
	{file: "no_error_here.txt", cause: CauseOther, verdict: undecided},
}

func TestDiagnoseSamples(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range samples {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "diagnose", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			d := Diagnose(string(raw))
			if d.Cause != tc.cause {
				t.Errorf("cause = %s, want %s (%s)", d.Cause, tc.cause, d.Explanation)
			}
			if d.Definitive != (tc.verdict == definitive) || d.Transient != (tc.verdict == transient) {
				t.Errorf("definitive=%v transient=%v, want verdict %d", d.Definitive, d.Transient, tc.verdict)
			}
			if d.ReEnroll != tc.reEnroll {
				t.Errorf("reEnroll = %v, want %v", d.ReEnroll, tc.reEnroll)
			}
			want := tc.codes
			if want == nil {
				want = []int{}
			}
			if !reflect.DeepEqual(d.Codes, want) {
				t.Errorf("codes = %v, want %v", d.Codes, want)
			}
			if d.Error != tc.oauthErr || d.SubError != tc.subErr {
				t.Errorf("error/suberror = %q/%q, want %q/%q", d.Error, d.SubError, tc.oauthErr, tc.subErr)
			}
			for k, v := range tc.values {
				if d.Values[k] != v {
					t.Errorf("values[%s] = %q, want %q", k, d.Values[k], v)
				}
			}
			for _, k := range tc.absentKeys {
				if v, ok := d.Values[k]; ok {
					t.Errorf("values[%s] = %q, want absent", k, v)
				}
			}
			if d.Explanation == "" || (d.Cause != CauseOther || len(d.Codes) > 0) && d.Remediation == "" {
				t.Errorf("explanation %q / remediation %q must be set", d.Explanation, d.Remediation)
			}
			wantRecognized := tc.file != "no_error_here.txt"
			if d.Recognized() != wantRecognized {
				t.Errorf("Recognized() = %v, want %v", d.Recognized(), wantRecognized)
			}
			if len(d.Codes) > 0 && !strings.HasPrefix(d.LookupURL, "https://login.microsoftonline.com/error?code=") {
				t.Errorf("lookupUrl = %q", d.LookupURL)
			}
		})
	}
	// Every sample file is in the table, so none is silently untested.
	files, _ := filepath.Glob(filepath.Join("testdata", "diagnose", "*"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no expectation in samples", f)
		}
	}
}

// The bodies of credential_echo_no_leak.txt echo a client secret, a refresh
// token and a JWT; none of them, nor a prefix of the secret, may reach any
// field of the diagnosis.
func TestDiagnoseNeverCopiesCredentials(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "diagnose", "credential_echo_no_leak.txt"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(Diagnose(string(raw)))
	for _, secret := range []string{"Xq48Q", "aB3cD4eF5gH6", "0.AXYA", "eyJ0eXAi", "c2lnbmF0dXJl"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("diagnosis contains %q: %s", secret, out)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "diagnose", "*"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		for k, v := range Diagnose(string(raw)).Values {
			if looksLikeCredential(v) {
				t.Errorf("%s: values[%s] = %q looks like a credential", f, k, v)
			}
		}
	}
}

func TestDiagnoseJSONShapeNeverNull(t *testing.T) {
	for _, in := range []string{"", "nothing to see", "AADSTS70043"} {
		out, err := json.Marshal(Diagnose(in))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"codes", "cause", "definitive", "transient", "explanation", "remediation", "reEnroll", "values"} {
			if v, ok := m[k]; !ok || v == nil {
				t.Errorf("%q: field %s missing or null in %s", in, k, out)
			}
		}
	}
}

func TestSignInFrequencyExplanationCarriesTheClock(t *testing.T) {
	d := Diagnose(`{"error":"invalid_grant","error_description":"AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on 2026-11-20T07:00:00.0000000Z and the maximum allowed lifetime for this request is 43200.","error_codes":[70043]}`)
	for _, want := range []string{"43200 s (12 hours)", "2026-11-20T07:00:00.0000000Z", "lapsed at 2026-11-20T19:00:00Z"} {
		if !strings.Contains(d.Explanation, want) {
			t.Errorf("explanation %q lacks %q", d.Explanation, want)
		}
	}
	if !strings.Contains(d.Remediation, "Sign-in frequency") || !strings.Contains(d.Remediation, "tokenhealth enroll") {
		t.Errorf("remediation %q", d.Remediation)
	}
}

func TestDeviceCodeSessionHintExplainsAuthenticationFlowsBlock(t *testing.T) {
	body := `{"error":"invalid_grant","error_description":"AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.","error_codes":[53003],"suberror":"message_only"}`
	plain := Diagnose(body)
	if plain.ReEnroll || plain.Values[ValueAuthFlow] != "" || strings.Contains(plain.Remediation, "--auth-code") {
		t.Errorf("without the hint a 53003 must not be blamed on device code: %+v", plain)
	}
	hinted := Hints{DeviceCodeSession: true}.Diagnose(body)
	if hinted.Cause != CauseCABlocked || !hinted.Definitive || !hinted.ReEnroll {
		t.Errorf("hinted = %+v", hinted)
	}
	if hinted.Values[ValueAuthFlow] != "deviceCode" || !strings.Contains(hinted.Remediation, "--auth-code") ||
		!strings.Contains(hinted.Explanation, "device code") {
		t.Errorf("hinted diagnosis does not explain the authentication-flows block: %+v", hinted)
	}
}

func TestUnknownCodeGivesOtherWithLookupURL(t *testing.T) {
	d := Diagnose("AADSTS9999999: something new")
	if d.Cause != CauseOther || d.Definitive || d.Transient || d.LookupURL != "https://login.microsoftonline.com/error?code=9999999" {
		t.Errorf("%+v", d)
	}
	if !d.Recognized() {
		t.Error("a code was found, so the text is recognised")
	}
}

func TestEveryCodeAndCauseIsDescribed(t *testing.T) {
	valid := map[Cause]bool{}
	for _, c := range Causes {
		valid[c] = true
		if _, ok := causes[c]; !ok {
			t.Errorf("cause %s has no causeInfo", c)
		} else if causes[c].remediation == "" {
			t.Errorf("cause %s has no remediation", c)
		}
	}
	if len(valid) != 17 {
		t.Errorf("%d causes, want the 17 of the contract", len(valid))
	}
	check := func(what string, info codeInfo) {
		if !valid[info.cause] || info.explanation == "" {
			t.Errorf("%s: cause %q explanation %q", what, info.cause, info.explanation)
		}
		if info.cause == CauseTransient && info.verdict != transient || info.verdict == transient && info.cause != CauseTransient {
			t.Errorf("%s: transient cause and verdict must agree", what)
		}
	}
	for code, info := range codes {
		check("AADSTS"+itoa(code), info)
	}
	for name, info := range oauthErrors {
		check(name, info)
	}
	for name, info := range subErrors {
		check(name, info)
	}
	// The codes domain.md and libraries.md name must all be known.
	for _, code := range []int{70043, 700082, 70008, 700084, 50173, 50076, 50079, 50078, 50074, 53003, 53000, 530003,
		53001, 50158, 50097, 50055, 50057, 50053, 65001, 700016, 90002, 7000215, 7000222, 50196, 90055, 70000,
		50126, 53004, 50105, 50034, 700003, 7000112, 500011, 500133, 50089, 70016} {
		if _, ok := codes[code]; !ok {
			t.Errorf("AADSTS%d is not in the table", code)
		}
	}
}

// The mark index is pooled; concurrent classifications (the scheduler runs
// many probes at once) must not see each other's marks.
func TestDiagnoseConcurrentMatchesSequential(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "diagnose", "*"))
	inputs := make([]string, len(files))
	want := make([]Diagnosis, len(files))
	for i, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[i] = string(raw)
		want[i] = Diagnose(inputs[i])
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(inputs))
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := range inputs {
				i := (k + g*7) % len(inputs)
				if got := Diagnose(inputs[i]); !reflect.DeepEqual(got, want[i]) {
					errs <- files[i]
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for f := range errs {
		t.Errorf("%s classified differently under concurrency", f)
	}
}

func TestDiagnoseInlineEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		in         string
		cause      Cause
		verdict    verdict
		recognized bool
		codes      string
	}{
		// The symbolic name contains "Revoked": inactivity all the same.
		{"AADSTS70008: ExpiredOrRevokedGrant - The refresh token has expired due to inactivity.", CauseRefreshTokenInactive, definitive, true, "[70008]"},
		// 50173 without the password sentence: a revocation.
		{"AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.", CauseTokenRevoked, definitive, true, "[50173]"},
		{"HTTP/1.1 200 OK", CauseOther, undecided, false, "[]"},
		{"Error Code: 2026-01-01 happened", CauseOther, undecided, false, "[]"},
		{`oauth2: "invalid_grant" ""`, CauseOther, definitive, true, "[]"},
		{`{"error":"consent_required"}`, CauseConsentRequired, definitive, true, "[]"},
		{`{"error":"invalid_grant","suberror":"consent_required"}`, CauseConsentRequired, definitive, true, "[]"},
		{`{"error":"invalid_client","error_description":"bad secret"}`, CauseInvalidClientCredentials, definitive, true, "[]"},
		{`{"error":"authorization_pending","error_codes":[70016]}`, CauseTransient, transient, true, "[70016]"},
		{`{"error":"server_error","error_description":"AADSTS90033: A transient error has occurred."}`, CauseTransient, transient, true, "[90033]"},
		{"AADSTS99999: new thing; reply status code was 503", CauseTransient, transient, true, "[99999]"},
		{"AADSTS99999: new thing; reply status code was 400", CauseOther, undecided, true, "[99999]"},
		{"AADSTS99999 AADSTS53003 AADSTS50076", CauseCABlocked, definitive, true, "[99999 53003 50076]"},
		{`"error_codes":[53003,50076]`, CauseCABlocked, definitive, true, "[53003 50076]"},
		{"{\"error_codes\": [\n  50078,\n  50076\n]}", CauseMFAExpiredRemember, definitive, true, "[50078 50076]"},
		// A Graph sign-in log entry: the code is in status.errorCode.
		{`{"id":"66ea54eb-6301-4ee5-be62-ff5a759b4100","createdDateTime":"2026-11-26T09:00:00Z","appId":"6e5d4c3b-2a19-4807-b6f5-e4d3c2b1a090","status":{"errorCode":70043,"failureReason":"The refresh token has expired due to sign-in frequency checks by conditional access."},"conditionalAccessStatus":"failure"}`,
			CauseSignInFrequency, definitive, true, "[70043]"},
	} {
		d := Diagnose(tc.in)
		if d.Cause != tc.cause || d.Definitive != (tc.verdict == definitive) || d.Transient != (tc.verdict == transient) ||
			d.Recognized() != tc.recognized || fmt.Sprint(d.Codes) != tc.codes {
			t.Errorf("%q: got cause %s definitive %v transient %v recognized %v codes %v",
				tc.in, d.Cause, d.Definitive, d.Transient, d.Recognized(), d.Codes)
		}
	}
}
