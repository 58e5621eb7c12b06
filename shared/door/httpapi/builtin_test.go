package httpapi_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raprov/raprov/shared/door/httpapi"
)

func TestSendersWith(t *testing.T) {
	renamed := filepath.Join("..", "..", "..", "examples", "senders", "servicenow-renamed.mapping.json")
	senders, err := httpapi.SendersWith([]string{renamed})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"servicenow", "workday", "servicenow-contoso"} {
		if senders[name] == nil {
			t.Errorf("no sender %s", name)
		}
	}
	body, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "senders", "servicenow-renamed.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, ferrs, err := senders["servicenow-contoso"](body)
	if err != nil || len(ferrs) != 0 || req.UserPrincipalName != "ra-toronto-ivr@contoso.com" || req.NumberType != "directRouting" {
		t.Errorf("mapped %+v, %v, %v", req, ferrs, err)
	}
	// The built-in one still reads its own layout: the override added a sender.
	if _, ferrs, _ := senders["servicenow"](body); len(ferrs) == 0 {
		t.Error("the built-in servicenow mapping read the renamed layout")
	}

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// An override named as a built-in one replaces it.
	over := write("sn.json", `{"base":"servicenow","fields":{"userPrincipalName":{"path":"variables.u_resource_upn"}}}`)
	senders, err = httpapi.SendersWith([]string{over})
	if err != nil {
		t.Fatal(err)
	}
	upnError := func(s httpapi.Sender) bool {
		_, ferrs, _ := s(body)
		for _, fe := range ferrs {
			if fe.Field == "userPrincipalName" {
				return true
			}
		}
		return false
	}
	if !upnError(httpapi.BuiltinSenders()["servicenow"]) || upnError(senders["servicenow"]) {
		t.Error("the override did not replace the built-in servicenow mapping's userPrincipalName path")
	}
	for _, tt := range []struct {
		paths []string
		want  string
	}{
		{[]string{filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{write("bad.json", `{"base":"servicenow","fields":{"userPrincipalNam":{"path":"x"}}}`)}, "bad.json"},
		{[]string{write("route.json", `{"base":"workday","name":"../admin"}`)}, "not a route name"},
		{[]string{over, write("again.json", `{"base":"servicenow"}`)}, "names the sender"},
	} {
		if _, err := httpapi.SendersWith(tt.paths); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SendersWith(%v) = %v, want an error naming %q", tt.paths, err, tt.want)
		}
	}
}
