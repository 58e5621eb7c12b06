package odata_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/infra/graphsim/odata"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in      string
		want    []odata.Clause
		wantErr bool
	}{
		{in: "userPrincipalName eq 'a@b.com'", want: []odata.Clause{{Property: "userPrincipalName", Value: "a@b.com"}}},
		{in: "userPrincipalName eq 'o''brien@b.com'", want: []odata.Clause{{Property: "userPrincipalName", Value: "o'brien@b.com"}}},
		{in: "assignmentStatus eq 'unassigned' and capabilities/any(c:c eq 'voiceApplicationAssignment')", want: []odata.Clause{
			{Property: "assignmentStatus", Value: "unassigned"},
			{Property: "capabilities", Value: "voiceApplicationAssignment", Any: true},
		}},
		{in: "telephoneNumber EQ '+12505550012'", want: []odata.Clause{{Property: "telephoneNumber", Value: "+12505550012"}}},
		{in: "userPrincipalName eq 'unterminated", wantErr: true},
		{in: "userPrincipalName ne 'x'", wantErr: true},
		{in: "a eq 'x' or b eq 'y'", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := odata.ParseFilter(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("clauses (-want +got):\n%s", diff)
			}
		})
	}
}
