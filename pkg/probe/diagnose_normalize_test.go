package probe

import "testing"

func TestNormalizePeelsLayers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{\"error\":\"invalid_grant\"}`, `{"error":"invalid_grant"}`},
		{`\\\"AADSTS70043\\\"`, `"AADSTS70043"`}, // escaped twice
		{`a\r\nb\u000d\u000ac\tb`, `a  b  c b`},  // line breaks become spaces
		{`it\u0027s \u00e9`, "it's é"},           // unicode escapes
		{`https:\/\/login.microsoftonline.com\/error`, "https://login.microsoftonline.com/error"},
		{"AADSTS53003%3a+Access+blocked", "AADSTS53003: Access blocked"}, // query string
		{"%257B%2522error%2522%257D", `{"error"}`},                       // URL-encoded twice
		{"we&#39;re &quot;x&quot; &#x2019; &amp; &nbsp;", "we're \"x\" \u2019 &  "},
		{"1+1 stays", "1+1 stays"}, // '+' is a space only in URL-encoded text
		{`trailing\`, "trailing"},
		{"bad %zz & &#xZZ; &unknown; \\u12", "bad %zz & &#xZZ; &unknown; u12"},
		{"<html><body><div>Error Code: </div><div>53003</div></body></html>", "   Error Code:   53003   "},
		{"log line with <REMOVED> id", "log line with <REMOVED> id"}, // not HTML: kept
	} {
		if got := normalize(tc.in); got != tc.want {
			t.Errorf("normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeBoundsInput(t *testing.T) {
	big := make([]byte, maxInput+1000)
	for i := range big {
		big[i] = 'a'
	}
	if got := normalize(string(big)); len(got) != maxInput {
		t.Errorf("len = %d, want %d", len(got), maxInput)
	}
}
