package probe_test

import (
	"fmt"

	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

func ExampleDiagnose() {
	d := probe.Diagnose(`oauth2: "invalid_grant" "AADSTS70043: The refresh token has expired or is invalid due to ` +
		`sign-in frequency checks by conditional access. The token was issued on 2026-11-20T07:00:00.0000000Z and the ` +
		`maximum allowed lifetime for this request is 43200. Trace ID: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c00"`)
	fmt.Println(d.Codes, d.Cause, d.Definitive, d.ReEnroll)
	fmt.Println(d.Values[probe.ValueIssuedAt], d.Values[probe.ValueMaxLifetimeSeconds])
	// Output:
	// [70043] ca_sign_in_frequency true true
	// 2026-11-20T07:00:00.0000000Z 43200
}

func ExampleHints_Diagnose() {
	// The canary was enrolled with device code flow; a block now is most
	// likely an authentication-flows policy, which re-enrollment with
	// authorization code + PKCE avoids.
	d := probe.Hints{DeviceCodeSession: true}.Diagnose(`{"error":"invalid_grant","error_codes":[53003],"suberror":"message_only"}`)
	fmt.Println(d.Cause, d.Values[probe.ValueAuthFlow], d.ReEnroll)
	// Output:
	// ca_blocked deviceCode true
}
