package requestfile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/requestfile"
)

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// rowErr is a RowError reduced to what the tests compare.
type rowErr struct {
	Line int
	Msg  string // substring of the error
}

func TestParse(t *testing.T) {
	tests := []struct {
		file string
		rows []requestfile.Row
		errs []rowErr
	}{
		{
			file: "design.csv",
			rows: []requestfile.Row{
				{Line: 2, Request: events.Request{
					RequestID: "INC-1", DisplayName: "Main Line, Reception", UserPrincipalName: "ra-main@contoso.com",
					AccountType: "autoAttendant", UsageLocation: "US", PhoneNumber: "+14255550100", NumberType: "callingPlan",
					AssociateWith: "3f2c1e9a-8d1b-4a55-9c3e-2b7f6d0a1c44", CallbackURL: "https://hooks.contoso.com/raprov?a=1&b=2",
				}},
				{Line: 4, Request: events.Request{
					RequestID: "INC-2", DisplayName: `Sales "Team" Queue`, UserPrincipalName: "cq-sales@contoso.com",
					AccountType: "callQueue", UsageLocation: "GB",
				}},
				{Line: 6, Request: events.Request{
					RequestID: "INC-3", DisplayName: "Support\n(two lines)", UserPrincipalName: "cq-support@contoso.com",
					AccountType: "CQ", UsageLocation: "DE", PhoneNumber: "030 1234567", NumberType: "directRouting",
				}},
				{Line: 8, Request: events.Request{
					RequestID: "INC-4", DisplayName: "Night Service", UserPrincipalName: "ra-night@contoso.com",
					AccountType: "AA", UsageLocation: "us",
				}},
			},
		},
		{
			file: "teamsfunctions.csv", // UTF-8 BOM, CRLF, TeamsFunctions column names
			rows: []requestfile.Row{
				{Line: 2, Request: events.Request{UserPrincipalName: "RA-Main@Contoso.com", DisplayName: "Main Line",
					AccountType: "AutoAttendant", UsageLocation: "US", PhoneNumber: "+14255550100"}},
				{Line: 4, Request: events.Request{UserPrincipalName: "CQ-Sales@Contoso.com", DisplayName: "Sales, Inbound",
					AccountType: "CallQueue", UsageLocation: "GB"}},
				{Line: 5, Request: events.Request{UserPrincipalName: "cq-support@contoso.com", DisplayName: "Support",
					AccountType: "CQ", UsageLocation: "DE", PhoneNumber: "+49301234567"}},
			},
		},
		{
			file: "semicolon.csv", // semicolons; column names with spaces and underscores; TeamsFunctions aliases
			rows: []requestfile.Row{
				{Line: 2, Request: events.Request{UserPrincipalName: "ra-main@contoso.com", DisplayName: "Main Line, Reception",
					AccountType: "AA", UsageLocation: "DE", PhoneNumber: "+49 30 1234567"}},
			},
		},
		{
			file: "bad_rows.csv",
			rows: []requestfile.Row{
				{Line: 2, Request: events.Request{RequestID: "R1", DisplayName: "Good One", UserPrincipalName: "ra-1@contoso.com",
					AccountType: "AA", UsageLocation: "US"}},
			},
			errs: []rowErr{
				{3, "the row has 6 fields; the header has 5"},
				{4, `bare " in non-quoted-field`},
				{5, `requestId "R1" is already used on line 2`},
				{6, `userPrincipalName "ra-1@contoso.com" is already requested on line 2`},
				{7, "the row has 2 fields; the header has 5"},
				{8, `column "displayName" is not valid UTF-8`},
			},
		},
		{
			file: "requests.jsonl",
			rows: []requestfile.Row{
				{Line: 1, Request: events.Request{RequestID: "J1", DisplayName: "Main Line", UserPrincipalName: "ra-main@contoso.com",
					AccountType: "AA", UsageLocation: "US", PhoneNumber: "+14255550100"}},
				{Line: 3, Request: events.Request{DisplayName: "Sales", UserPrincipalName: "cq-sales@contoso.com",
					AccountType: "CQ", UsageLocation: "GB"}},
				{Line: 10, Request: events.Request{RequestID: "J9", DisplayName: "Last", UserPrincipalName: "ra-last@contoso.com",
					AccountType: "callQueue", UsageLocation: "DE"}},
			},
			errs: []rowErr{
				{4, "not valid JSON"},
				{5, "expected a JSON object"},
				{6, `unknown key "License"`},
				{7, `"phoneNumber" must be a JSON string`},
				{8, `both set userPrincipalName`},
				{9, "expected a JSON object"},
			},
		},
		{
			file: "array.json",
			rows: []requestfile.Row{
				{Line: 2, Request: events.Request{RequestID: "A1", DisplayName: "Main Line", UserPrincipalName: "ra-main@contoso.com",
					AccountType: "autoAttendant", UsageLocation: "US"}},
				{Line: 10, Request: events.Request{RequestID: "A3", DisplayName: "Sales", UserPrincipalName: "cq-sales@contoso.com",
					AccountType: "CQ", UsageLocation: "GB", CallbackURL: "https://hooks.contoso.com/x"}},
			},
			errs: []rowErr{
				{9, "expected a JSON object"},
				{12, `unknown key "colour"`},
			},
		},
		{
			file: "object.json", // a single object over several lines, after a BOM and a blank line
			rows: []requestfile.Row{
				{Line: 2, Request: events.Request{RequestID: "O1", DisplayName: "Main Line", UserPrincipalName: "ra-main@contoso.com",
					AccountType: "AA", UsageLocation: "US", PhoneNumber: "+14255550100"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rows, errs, err := requestfile.Parse(bytes.NewReader(readFile(t, tt.file)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.rows, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if len(errs) != len(tt.errs) {
				t.Errorf("got %d row errors, want %d: %v", len(errs), len(tt.errs), errs)
			}
			for i := range min(len(errs), len(tt.errs)) {
				got, want := errs[i], tt.errs[i]
				if got.Line != want.Line || !strings.Contains(got.Err.Error(), want.Msg) {
					t.Errorf("row error %d = %v; want line %d: …%s…", i, got, want.Line, want.Msg)
				}
				if !strings.HasPrefix(got.Error(), "line ") || errors.Unwrap(got) != got.Err {
					t.Errorf("RowError formatting/unwrapping: %q", got.Error())
				}
			}
		})
	}
}

// TestTestdataEncodings guards the test files themselves: a checkout that
// rewrote line ends or dropped the BOM would make the tests above prove less.
func TestTestdataEncodings(t *testing.T) {
	tf := readFile(t, "teamsfunctions.csv")
	if !bytes.HasPrefix(tf, []byte("\uFEFF")) || !bytes.Contains(tf, []byte("\r\n")) {
		t.Error("teamsfunctions.csv must start with a UTF-8 BOM and use CRLF")
	}
	if d := readFile(t, "design.csv"); bytes.Contains(d, []byte("\r")) {
		t.Error("design.csv must use LF")
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "empty"},
		{"blank", []byte(" \r\n\n\t"), "empty"},
		{"BOM only", []byte("\uFEFF\n"), "empty"},
		{"UTF-16", readFile(t, "utf16.csv"), "UTF-16"},
		{"unknown column", readFile(t, "unknown_column.csv"), `unknown column "License"`},
		{"duplicate column", readFile(t, "duplicate_column.csv"), `columns "UPN" and "userPrincipalName" both set userPrincipalName`},
		{"unnamed column", []byte("userPrincipalName,,displayName\n"), "column 2 has no name"},
		{"broken header", []byte("userPrincipalName,\"display\n"), "CSV header"},
		{"malformed JSON array", readFile(t, "bad_array.json"), "JSON array: line 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs, err := requestfile.Parse(bytes.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Parse = %v, %v, %v; want an error containing %q", rows, errs, err, tt.msg)
			}
			if rows != nil || errs != nil {
				t.Errorf("rows or row errors returned with a file error")
			}
		})
	}
}

func TestParseHeaderOnly(t *testing.T) {
	rows, errs, err := requestfile.Parse(strings.NewReader("userPrincipalName,displayName\r\n"))
	if err != nil || len(rows) != 0 || len(errs) != 0 {
		t.Errorf("Parse = %v, %v, %v; want nothing", rows, errs, err)
	}
}

func TestParseTabs(t *testing.T) {
	rows, errs, err := requestfile.Parse(strings.NewReader("upn\tdisplayName\ttype\na@contoso.com\tA, B\tcq\n"))
	want := []requestfile.Row{{Line: 2, Request: events.Request{UserPrincipalName: "a@contoso.com", DisplayName: "A, B", AccountType: "cq"}}}
	if err != nil || len(errs) != 0 {
		t.Fatalf("Parse: %v %v", err, errs)
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	if _, _, err := requestfile.Parse(failingReader{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Parse = %v", err)
	}
}

func TestExpectColumn(t *testing.T) {
	rows, errs, err := requestfile.Parse(strings.NewReader("UserPrincipalName,DisplayName,ApplicationType,UsageLocation,Expect\r\naa@contoso.com,AA,AA,US,completed\r\ncq@contoso.com,CQ,CQ,US, number_in_use \r\n"))
	if err != nil || len(errs) != 0 {
		t.Fatalf("err %v, row errors %v", err, errs)
	}
	if len(rows) != 2 || rows[0].Expect != "completed" || rows[1].Expect != "number_in_use" {
		t.Fatalf("rows %+v", rows)
	}
}

// adopt is a yes/no column (and a JSON boolean or string); anything else
// is a bad row, never a silent "no".
func TestAdoptColumn(t *testing.T) {
	csv := "upn,displayName,type,usageLocation,adopt\n" +
		"a@contoso.com,A,AA,US,true\n" +
		"b@contoso.com,B,AA,US,No\n" +
		"c@contoso.com,C,AA,US,perhaps\n" +
		"d@contoso.com,D,AA,US,\n"
	rows, bad, err := requestfile.Parse(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rows {
		got[r.Request.UserPrincipalName] = r.Request.Adopt
	}
	if want := map[string]bool{"a@contoso.com": true, "b@contoso.com": false, "d@contoso.com": false}; !cmp.Equal(got, want) {
		t.Errorf("adopt by UPN %v, want %v", got, want)
	}
	if len(bad) != 1 || bad[0].Line != 4 || !strings.Contains(bad[0].Error(), "adopt") {
		t.Errorf("bad rows %v, want line 4 for its adopt value", bad)
	}

	jsonl := `{"upn":"a@contoso.com","displayName":"A","type":"AA","usageLocation":"US","adopt":true}` + "\n" +
		`{"upn":"b@contoso.com","displayName":"B","type":"AA","usageLocation":"US","adopt":"yes"}` + "\n" +
		`{"upn":"c@contoso.com","displayName":"C","type":"AA","usageLocation":"US","adopt":1}` + "\n"
	rows, bad, err = requestfile.Parse(strings.NewReader(jsonl))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !rows[0].Request.Adopt || !rows[1].Request.Adopt || len(bad) != 1 || bad[0].Line != 3 {
		t.Errorf("JSON lines: rows %+v, bad %v", rows, bad)
	}
}
