package requestfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// A quote that is never closed takes every later line into one field:
// those lines are named, not dropped in silence (issue 8, item 3).
func TestParseUnclosedQuote(t *testing.T) {
	head := "requestId,displayName,userPrincipalName,accountType,usageLocation\n"
	tests := []struct {
		name string
		csv  string
		rows []int    // lines of the rows read
		errs []string // every row error, formatted
	}{
		{
			name: "never closed",
			csv: head +
				"R1,One,ra-1@contoso.com,AA,US\n" +
				"R2,\"Two,ra-2@contoso.com,AA,US\n" + // line 3: the quote opens
				"R3,Three,ra-3@contoso.com,AA,US\n" +
				"\n" +
				"R4,Four,ra-4@contoso.com,AA,US\n", // line 6
			rows: []int{2},
			errs: []string{`lines 3–6 were not read: the quote opened on line 3 is never closed (write a quote inside a quoted field as "")`},
		},
		{
			name: "stray quote on a later line",
			csv: head +
				"R1,\"One\n" + // line 2: the quote opens
				"still one\" and more,ra-1@contoso.com,AA,US\n" + // line 3: a stray quote
				"R2,Two,ra-2@contoso.com,AA,US\n",
			rows: []int{4},
			errs: []string{`lines 2–3 were not read: the field quoted on line 2 has a stray quote on line 3 (write a quote inside a quoted field as "")`},
		},
		{
			name: "one line",
			csv: head +
				"R1,\"One\" x,ra-1@contoso.com,AA,US\n" +
				"R2,Two,ra-2@contoso.com,AA,US\n",
			rows: []int{3},
			errs: []string{`line 2: extraneous or missing " in quoted-field`},
		},
		{
			name: "quoted line breaks are fine",
			csv: head +
				"R1,\"One\nand a half\",ra-1@contoso.com,AA,US\n" +
				"R2,Two,ra-2@contoso.com,AA,US\n",
			rows: []int{2, 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs, err := requestfile.Parse(strings.NewReader(tt.csv))
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, r := range rows {
				lines = append(lines, r.Line)
			}
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			if diff := cmp.Diff(tt.rows, lines); diff != "" {
				t.Errorf("row lines (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.errs, msgs); diff != "" {
				t.Errorf("row errors (-want +got):\n%s", diff)
			}
		})
	}
}

// JSON rows are refused for what refuses a CSV row: text that is not UTF-8
// (and lone surrogates, which are no text), and a field set twice (issue 8,
// item 4).
func TestParseJSONLikeCSV(t *testing.T) {
	good := `"displayName":"A","type":"AA","usageLocation":"US"`
	jsonl := strings.Join([]string{
		`{"upn":"a@contoso.com",` + good + `}`,                                     // 1: good
		`{"upn":"b@contoso.com","upn":"c@contoso.com",` + good + `}`,               // 2: repeated key
		`{"upn":"d@contoso.com","displayName":"Caf` + "\xe9" + `","type":"AA"}`,    // 3: Latin-1
		`{"upn":"e@contoso.com","displayName":"x\ud800y","type":"AA"}`,             // 4: lone high surrogate
		`{"upn":"f@contoso.com","displayName":"x\udc00","type":"AA"}`,              // 5: lone low surrogate
		`{"upn":"g@contoso.com","displayName":"\ud83d\ude00 \\ud800","type":"AA"}`, // 6: a pair, and an escaped backslash: good
		`{"upn":"h@contoso.com","displayName":"\ud800\u0041","type":"AA"}`,         // 7: high surrogate, then no low one
		`{"up` + "\xff" + `n":"i@contoso.com"}`,                                    // 8: key not UTF-8
		`{"upn":"j@contoso.com","displayName":"x","displayName":"y","type":"AA"}`,  // 9: repeated key
		`{"upn":"k@contoso.com","displayName":null,"displayName":null}`,            // 10: repeated, even as null
	}, "\n")
	rows, errs, err := requestfile.Parse(strings.NewReader(jsonl))
	if err != nil {
		t.Fatal(err)
	}
	var upns []string
	for _, r := range rows {
		upns = append(upns, r.Request.UserPrincipalName)
	}
	if diff := cmp.Diff([]string{"a@contoso.com", "g@contoso.com"}, upns); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if len(rows) == 2 && rows[1].Request.DisplayName != "\U0001F600 \\ud800" {
		t.Errorf("line 6 display name %q", rows[1].Request.DisplayName)
	}
	want := []rowErr{
		{2, `key "upn" appears twice`},
		{3, `"displayName" is not valid UTF-8`},
		{4, `"displayName" holds \ud800, half of a UTF-16 surrogate pair`},
		{5, `"displayName" holds \udc00`},
		{7, `"displayName" holds \ud800`},
		{8, `a key is not valid UTF-8`},
		{9, `key "displayName" appears twice`},
		{10, `key "displayName" appears twice`},
	}
	if len(errs) != len(want) {
		t.Errorf("got %d row errors, want %d: %v", len(errs), len(want), errs)
	}
	for i := range min(len(errs), len(want)) {
		if errs[i].Line != want[i].Line || !strings.Contains(errs[i].Error(), want[i].Msg) {
			t.Errorf("row error %d = %v; want line %d: …%s…", i, errs[i], want[i].Line, want[i].Msg)
		}
	}

	// The same in a JSON array and a single object.
	for _, data := range []string{
		"[\n" + `{"upn":"b@contoso.com","upn":"c@contoso.com"}` + "\n]",
		"{\n" + `"upn":"b@contoso.com",` + "\n" + `"upn":"c@contoso.com"` + "\n}",
	} {
		rows, errs, err := requestfile.Parse(strings.NewReader(data))
		if err != nil || len(rows) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), `key "upn" appears twice`) {
			t.Errorf("Parse(%q) = %v, %v, %v; want a repeated key", data, rows, errs, err)
		}
	}
}

// A requestId is trimmed as intake trims it, so that the id the row is
// submitted, tracked and looked up under is the one intake uses (issue 8,
// item 5); one of spaces only is no id.
func TestParseTrimsRequestID(t *testing.T) {
	for _, data := range []string{
		"requestId,upn\n R1 ,a@contoso.com\n\t,b@contoso.com\n",
		`{"requestId":" R1 ","upn":"a@contoso.com"}` + "\n" + `{"requestId":"\t","upn":"b@contoso.com"}` + "\n",
	} {
		rows, errs, err := requestfile.Parse(strings.NewReader(data))
		if err != nil || len(errs) != 0 || len(rows) != 2 {
			t.Fatalf("Parse(%q) = %v, %v, %v", data, rows, errs, err)
		}
		if rows[0].Request.RequestID != "R1" || rows[1].Request.RequestID != "" {
			t.Errorf("Parse(%q): request ids %q, %q; want R1 and none", data, rows[0].Request.RequestID, rows[1].Request.RequestID)
		}
	}
	_, errs, _ := requestfile.Parse(strings.NewReader("requestId,upn\nR1,a@contoso.com\n R1,b@contoso.com\n"))
	if len(errs) != 1 || errs[0].Line != 3 || !strings.Contains(errs[0].Error(), `requestId "R1" is already used on line 2`) {
		t.Errorf("row errors %v; want line 3 repeating R1", errs)
	}
}

// Two rows asking for one phone number would both pass the pre-flight and
// both create and license an account, the second then failing number_in_use
// with its license held: the later row is refused, comparing numbers by
// their digits and leading '+'. A national-format number is not matched
// with its E.164 form (that needs a phone library; assign-number catches
// it).
func TestParseRepeatedPhoneNumber(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		lines []int // rows read
		errs  []rowErr
	}{
		{
			name: "csv",
			data: "upn,phoneNumber\n" +
				"a@contoso.com,+14255550100\n" +
				"b@contoso.com,+14255550101\n" +
				"c@contoso.com,+1 (425) 555-0100\n" +
				"d@contoso.com,\n" +
				"e@contoso.com,\n" +
				"f@contoso.com,+1.425.555.0101\n" +
				"g@contoso.com,(425) 555-0100\n" + // national: not matched here
				"h@contoso.com,425-555-0100\n", // but matches the national one above
			lines: []int{2, 3, 5, 6, 8},
			errs: []rowErr{
				{4, `phoneNumber "+1 (425) 555-0100" is already requested on line 2`},
				{7, `phoneNumber "+1.425.555.0101" is already requested on line 3`},
				{9, `phoneNumber "425-555-0100" is already requested on line 8`},
			},
		},
		{
			name: "json lines",
			data: `{"upn":"a@contoso.com","phoneNumber":"+49 30 1234567"}` + "\n" +
				`{"upn":"b@contoso.com","TelephoneNumber":"+4930-123 45 67"}` + "\n" +
				`{"upn":"c@contoso.com","phoneNumber":"4930 1234567"}` + "\n", // no '+': another key
			lines: []int{1, 3},
			errs:  []rowErr{{2, `phoneNumber "+4930-123 45 67" is already requested on line 1`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs, err := requestfile.Parse(strings.NewReader(tt.data))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var lines []int
			for _, r := range rows {
				lines = append(lines, r.Line)
			}
			if diff := cmp.Diff(tt.lines, lines); diff != "" {
				t.Errorf("rows read (-want +got):\n%s", diff)
			}
			var got []rowErr
			for _, e := range errs {
				got = append(got, rowErr{e.Line, e.Err.Error()})
			}
			if diff := cmp.Diff(tt.errs, got); diff != "" {
				t.Errorf("row errors (-want +got):\n%s", diff)
			}
		})
	}
}

// Parse reads as the file streams: rows far beyond any buffer and a read
// error after them are both seen.
func TestParseStreams(t *testing.T) {
	const blank = 64 << 20 // more than raprov run used to read
	head := "requestId,upn\nR1,a@contoso.com\n"
	tail := "R2,b@contoso.com\n"
	r := io.MultiReader(strings.NewReader(head), &repeatReader{b: '\n', n: blank}, strings.NewReader(tail))
	rows, errs, err := requestfile.Parse(r)
	if err != nil || len(errs) != 0 {
		t.Fatalf("Parse: %v %v", err, errs)
	}
	if len(rows) != 2 || rows[1].Line != 3+blank || rows[1].Request.RequestID != "R2" {
		t.Errorf("rows %+v", rows)
	}

	// The same padding before the header.
	rows, errs, err = requestfile.Parse(io.MultiReader(&repeatReader{b: '\n', n: blank}, strings.NewReader(head+tail)))
	if err != nil || len(errs) != 0 || len(rows) != 2 || rows[0].Line != 2+blank || rows[1].Line != 3+blank {
		t.Errorf("after blank lines: %v, %v, %v", rows, errs, err)
	}

	for _, head := range []string{head, `{"requestId":"R1"}` + "\n", "[\n" + `{"requestId":"R1"},` + "\n", "{\n"} {
		_, _, err := requestfile.Parse(io.MultiReader(strings.NewReader(head), failingReader{}))
		if err == nil || !strings.Contains(err.Error(), "read: disk on fire") {
			t.Errorf("Parse(%q, then a read error) = %v; want the read error", head, err)
		}
	}
}

// repeatReader reads n copies of b.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

// How a file that starts with '{' is read: JSON lines when its first line
// is JSON, else one object when it is one, else JSON lines again.
func TestParseJSONObjectOrLines(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		lines []int // of the rows read
		errs  []int // of the row errors
	}{
		{"one object over lines", "\n\n{\n\"upn\": \"a@contoso.com\"\n}\n\n", []int{3}, nil},
		{"one object on a line", "\n" + `{"upn": "a@contoso.com"}`, []int{2}, nil},
		{"two objects over lines", "{\n\"upn\": \"a@contoso.com\"\n}\n{\n\"upn\": \"b@contoso.com\"\n}\n", nil, []int{1, 2, 3, 4, 5, 6}},
		{"broken first line", `{"upn": "a@contoso.com"` + "\n" + `{"upn": "b@contoso.com"}` + "\n", []int{2}, []int{1}},
		{"object and more", "{\n\"upn\": \"a@contoso.com\"\n} x\n", nil, []int{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, errs, err := requestfile.Parse(strings.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			var lines, errLines []int
			for _, r := range rows {
				lines = append(lines, r.Line)
			}
			for _, e := range errs {
				errLines = append(errLines, e.Line)
			}
			if !cmp.Equal(tt.lines, lines) || !cmp.Equal(tt.errs, errLines) {
				t.Errorf("rows on lines %v, errors on lines %v (%v); want %v and %v", lines, errLines, errs, tt.lines, tt.errs)
			}
		})
	}
}

func TestParseJSONArrayErrors(t *testing.T) {
	for _, tt := range []struct{ data, msg string }{
		{"[\n{\"upn\":\"a@contoso.com\"}\n", "JSON array: the file ends before the array is closed"},
		{"[\n{\"upn\":\"a@contoso.com\"}\n]\n{}", "JSON array: line 4: text after the array"},
		{"[\n{\"upn\":\"a@contoso.com\"}\n{}]", "JSON array: line 3: expected comma after array element"},
		{"[\n{\"upn\":\n\"a@contoso.com\",}]", "JSON array: line 3: invalid character '}'"},
	} {
		rows, errs, err := requestfile.Parse(strings.NewReader(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.msg) || rows != nil || errs != nil {
			t.Errorf("Parse(%q) = %v, %v, %v; want %q", tt.data, rows, errs, err, tt.msg)
		}
	}
}

// action says whether a row provisions or deprovisions; its value set is
// closed, so a typo or a synonym (remove, delete) is a bad row with its
// line, never a silent provisioning or removal. target (alias
// provisioningRequestId) names the provisioning request of a deprovision
// row and is refused on a provisioning row.
func TestActionColumn(t *testing.T) {
	csv := "UserPrincipalName,DisplayName,ApplicationType,UsageLocation,PhoneNumber,Action,Provisioning Request Id\n" +
		"a@contoso.com,A,AA,US,+14255550100,,\n" + // 2: provision (empty)
		"b@contoso.com,B,AA,US,+14255550101, Provision ,\n" + // 3: provision
		"c@contoso.com,,,,+14255550100,DEPROVISION, INC-7 \n" + // 4: deprovision; its number repeats line 2's and is ignored
		"d@contoso.com,,,,,deprovision,\n" + // 5: deprovision without target
		"e@contoso.com,E,AA,US,,remove,\n" + // 6: bad action
		"f@contoso.com,F,AA,US,,delete,\n" + // 7: bad action
		"g@contoso.com,G,AA,US,,,INC-8\n" + // 8: target on a provisioning row
		"a@contoso.com,,,,,deprovision,\n" // 9: the same UPN as line 2
	rows, bad, err := requestfile.Parse(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Line           int
		UPN            string
		Action, Target string
	}
	var have []got
	for _, r := range rows {
		have = append(have, got{r.Line, r.Request.UserPrincipalName, r.Request.Action, r.Request.Target})
	}
	want := []got{
		{2, "a@contoso.com", "", ""},
		{3, "b@contoso.com", "", ""},
		{4, "c@contoso.com", events.ActionDeprovision, "INC-7"},
		{5, "d@contoso.com", events.ActionDeprovision, ""},
	}
	if d := cmp.Diff(want, have); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	var errs []rowErr
	for _, e := range bad {
		errs = append(errs, rowErr{e.Line, e.Error()})
	}
	wantErrs := map[int]string{
		6: `action "remove" must be provision (or empty) or deprovision`,
		7: `action "delete" must be provision (or empty) or deprovision`,
		8: `target "INC-8" names the provisioning request`,
		9: `userPrincipalName "a@contoso.com" is already requested on line 2`,
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("row errors %v, want lines 6–9", errs)
	}
	for _, e := range errs {
		if !strings.Contains(e.Msg, wantErrs[e.Line]) || !strings.HasPrefix(e.Msg, fmt.Sprintf("line %d: ", e.Line)) {
			t.Errorf("line %d: %q, want it to name the line and say %q", e.Line, e.Msg, wantErrs[e.Line])
		}
	}

	jsonl := `{"upn":"a@contoso.com","action":"deprovision","target":"INC-1"}` + "\n" +
		`{"upn":"b@contoso.com","displayName":"B","type":"AA","usageLocation":"US","action":"provision"}` + "\n" +
		`{"upn":"c@contoso.com","action":"Deprovisioning"}` + "\n" +
		`{"upn":"d@contoso.com","action":true}` + "\n" +
		`{"upn":"e@contoso.com","provisioningRequestId":"INC-2","action":"deprovision"}` + "\n"
	rows, bad, err = requestfile.Parse(strings.NewReader(jsonl))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Request.Action != events.ActionDeprovision || rows[0].Request.Target != "INC-1" ||
		rows[1].Request.Action != "" || rows[2].Request.Target != "INC-2" || rows[2].Line != 5 {
		t.Errorf("JSON lines: rows %+v", rows)
	}
	if len(bad) != 2 || bad[0].Line != 3 || !strings.Contains(bad[0].Error(), `action "Deprovisioning"`) ||
		bad[1].Line != 4 || !strings.Contains(bad[1].Error(), `"action" must be a JSON string`) {
		t.Errorf("JSON lines: bad rows %v, want lines 3 and 4", bad)
	}
}

// An unknown column still fails the file, and the message names the new
// columns among the known ones.
func TestActionColumnsKnown(t *testing.T) {
	_, _, err := requestfile.Parse(strings.NewReader("upn,action,targetRequest\na@contoso.com,deprovision,INC-1\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown column "targetRequest"`) ||
		!strings.Contains(err.Error(), "action (provision or deprovision)") || !strings.Contains(err.Error(), "target (provisioningRequestId)") {
		t.Errorf("err = %v, want the unknown column named and action and target listed", err)
	}
}

// examples/deprovision.csv, the sample of docs/bulk.md's action column,
// reads without a bad row.
func TestDeprovisionExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "deprovision.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, bad, err := requestfile.Parse(bytes.NewReader(b))
	if err != nil || len(bad) != 0 || len(rows) != 3 {
		t.Fatalf("rows %d, bad %v, err %v", len(rows), bad, err)
	}
	if rows[0].Request.Deprovision() || !rows[1].Request.Deprovision() || rows[1].Request.Target != "INC0012345" || !rows[2].Request.Deprovision() {
		t.Errorf("actions: %+v", rows)
	}
}

func TestOnlyProvisioning(t *testing.T) {
	rows := []requestfile.Row{
		{Line: 2, Request: events.Request{RequestID: "a"}},
		{Line: 3, Request: events.Request{RequestID: "b", Action: events.ActionDeprovision}},
		{Line: 5, Request: events.Request{RequestID: "c"}},
	}
	bad := []requestfile.RowError{{Line: 4, Err: errors.New("bad")}}
	kept, bad := requestfile.OnlyProvisioning(rows, bad)
	if len(kept) != 2 || kept[0].Request.RequestID != "a" || kept[1].Request.RequestID != "c" {
		t.Errorf("kept %+v", kept)
	}
	if len(bad) != 2 || bad[0].Line != 3 || !errors.Is(bad[0].Err, requestfile.ErrDeprovisionRowsOff) || bad[1].Line != 4 {
		t.Errorf("bad %+v", bad)
	}
	if rows[1].Request.RequestID != "b" {
		t.Error("OnlyProvisioning changed its input")
	}
}
