package policy

import "testing"

func TestDeviceRuleUnregistered(t *testing.T) {
	tests := []struct {
		rule    string
		match   bool
		wantErr bool
	}{
		{`device.extensionAttribute1 -eq "SAW"`, false, false},
		{`device.extensionAttribute2 -ne "TeamsPhoneDevice"`, true, false},
		{`device.trustType -ne "ServerAD" -and device.isCompliant -ne "True"`, true, false},
		{`device.trustType -eq "AzureAD" -or device.model -notContains "Surface"`, true, false},
		{`(device.operatingSystem -eq "Windows") -and (device.operatingSystemVersion -startsWith "10.0")`, false, false},
		{`-not (device.deviceOwnership -eq "Company")`, true, false},
		{`device.mdmAppId -in ["00001111-aaaa-2222-bbbb-3333cccc4444"]`, false, false},
		{`device.displayName -notIn ['a', 'b']`, true, false},
		{`device.model -like "x"`, false, true},
		{`user.department -eq "x"`, false, true},
		{`device.model -eq`, false, true},
		{`(device.model -eq "x"`, false, true},
		{`device.model -eq "unterminated`, false, true},
		{``, false, true},
	}
	for _, tc := range tests {
		n, err := parseDeviceRule(tc.rule)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err = %v, wantErr %v", tc.rule, err, tc.wantErr)
			continue
		}
		if err == nil && n.matchUnregistered() != tc.match {
			t.Errorf("%q: match = %v, want %v", tc.rule, !tc.match, tc.match)
		}
	}
}

func TestDeviceFilterModes(t *testing.T) {
	for _, tc := range []struct {
		mode, rule string
		want       Tri
	}{
		{"include", `device.trustType -ne "AzureAD"`, True},
		{"include", `device.trustType -eq "AzureAD"`, False},
		{"exclude", `device.trustType -ne "AzureAD"`, False},
		{"exclude", `device.trustType -eq "AzureAD"`, True},
		{"unknownFutureValue", `device.trustType -eq "AzureAD"`, Unknown},
		{"include", `device.trustType -matches "x"`, Unknown},
	} {
		f := &Filter{Mode: tc.mode, Rule: tc.rule}
		n, err := parseDeviceRule(tc.rule)
		if got, why := deviceFilterCondition(f, n, err); got != tc.want {
			t.Errorf("%s %q = %v (%s), want %v", tc.mode, tc.rule, got, why, tc.want)
		}
	}
}
