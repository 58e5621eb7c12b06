package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// What a request file says reaches the operator's terminal escaped:
// progress lines, the table, raprov submit and raprov status (issue 8,
// item 6).
func TestTerminalRun(t *testing.T) {
	const title, clear = "\x1b]0;pwned\x07", "\x1b[2J" // retitle the window; clear the screen
	rt := newFileRun(t, []byte("RequestId,UserPrincipalName,DisplayName,ApplicationType,UsageLocation,Expect\n"+
		"ESC-1,ra-esc-1@contoso.com,Title "+title+",AA,US,invalid_request\n"+
		"ESC-2"+clear+",ra-esc-2"+clear+"@contoso.com,Clear "+clear+",AA,US,invalid_request\n"+
		"ESC-3,ra-esc-3"+title+"@contoso.com,Three,AA,US,"+clear+"\n"+
		"ESC-4,ra-esc-4\u202e@contoso.com,Four,AA,US,invalid_request\n"))
	runOut, _ := rt.run(t)
	submitOut, _ := executeCmd(newSubmitCmd(), "--db", filepath.Join(rt.dir, "other.db"), rt.file)
	summary, err := executeCmd(newStatusCmd(), "--db", rt.s.DB)
	if err != nil {
		t.Fatal(err)
	}
	one, err := executeCmd(newStatusCmd(), "--db", rt.s.DB, "ESC-2"+clear)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"run": runOut, "submit": submitOut, "status": summary, "status ESC-2": one} {
		if i := strings.IndexAny(out, "\x1b\x07\u202e"); i >= 0 {
			t.Errorf("raprov %s printed a control character: …%q…", name, out[max(i-20, 0):min(i+20, len(out))])
		}
		if name != "run" { // logged by rt.run
			t.Logf("raprov %s printed:\n%s", name, out)
		}
	}
	for _, want := range []string{
		`ra-esc-3\x1b]0;pwned\x07@contoso.com`, // table and progress
		`ESC-2\x1b[2J`,                         // id
		`≠ expected \x1b[2J`,                   // expectation
		`ra-esc-4\u202e@contoso.com`,           // right-to-left override
	} {
		if !strings.Contains(runOut, want) {
			t.Errorf("run output lacks %s", want)
		}
	}
	if !strings.Contains(submitOut, `ESC-2\x1b[2J`) || !strings.Contains(summary, `ESC-2\x1b[2J`) || !strings.Contains(one, `ESC-2\x1b[2J: failed (invalid_request)`) {
		t.Errorf("submit or status does not show ESC-2's id escaped")
	}
}
