package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// SignIn mirrors Microsoft Graph's signIn resource: the v1.0 fields the
// attribution needs plus beta-only ones (sessionLifetimePolicies,
// signInEventTypes, authenticationRequirement), which are zero when the
// entry came from v1.0.
type SignIn struct {
	ID                               string                  `json:"id"`
	CreatedDateTime                  time.Time               `json:"createdDateTime"`
	UserID                           string                  `json:"userId"`
	UserPrincipalName                string                  `json:"userPrincipalName"`
	AppID                            string                  `json:"appId"`
	AppDisplayName                   string                  `json:"appDisplayName"`
	ResourceID                       string                  `json:"resourceId"`
	CorrelationID                    string                  `json:"correlationId"`
	IsInteractive                    bool                    `json:"isInteractive"`
	IPAddress                        string                  `json:"ipAddress"`
	ClientAppUsed                    string                  `json:"clientAppUsed"`
	ConditionalAccessStatus          string                  `json:"conditionalAccessStatus"`
	Status                           SignInStatus            `json:"status"`
	AppliedConditionalAccessPolicies []AppliedPolicy         `json:"appliedConditionalAccessPolicies"`
	SessionLifetimePolicies          []SessionLifetimePolicy `json:"sessionLifetimePolicies,omitempty"`
	AuthenticationRequirement        string                  `json:"authenticationRequirement,omitempty"`
	SignInEventTypes                 StringList              `json:"signInEventTypes,omitempty"`
}

// SignInStatus is signInStatus; ErrorCode is the AADSTS number (0 = success).
type SignInStatus struct {
	ErrorCode         int    `json:"errorCode"`
	FailureReason     string `json:"failureReason"`
	AdditionalDetails string `json:"additionalDetails"`
}

// AppliedPolicy is appliedConditionalAccessPolicy.
type AppliedPolicy struct {
	ID                      string     `json:"id"`
	DisplayName             string     `json:"displayName"`
	Result                  string     `json:"result"` // success, failure, notApplied, notEnabled, reportOnly*, unknownFutureValue
	EnforcedGrantControls   StringList `json:"enforcedGrantControls"`
	EnforcedSessionControls StringList `json:"enforcedSessionControls"`
}

// SessionLifetimePolicy is the beta sessionLifetimePolicy: which control
// forced a reauthentication.
type SessionLifetimePolicy struct {
	ExpirationRequirement string `json:"expirationRequirement"`
	Detail                string `json:"detail"`
}

// LoadSignIns decodes sign-in log entries: a Graph page {"value":[...]}, a
// bare array, or a single entry; any text encoding DecodeText accepts.
func LoadSignIns(b []byte) ([]SignIn, error) {
	text, err := DecodeText(b)
	if err != nil {
		return nil, err
	}
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		return nil, fmt.Errorf("empty sign-in log")
	}
	switch text[0] {
	case '[':
		var out []SignIn
		if err := json.Unmarshal(text, &out); err != nil {
			return nil, fmt.Errorf("sign-in log array: %w", err)
		}
		return out, nil
	case '{':
		var page struct {
			Value *[]SignIn `json:"value"`
		}
		if err := json.Unmarshal(text, &page); err == nil && page.Value != nil {
			return *page.Value, nil
		}
		var one SignIn
		if err := json.Unmarshal(text, &one); err != nil {
			return nil, fmt.Errorf("sign-in log entry: %w", err)
		}
		return []SignIn{one}, nil
	}
	return nil, fmt.Errorf("sign-in log is neither a JSON object nor an array")
}
