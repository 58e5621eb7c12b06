package httpdoor_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/raprov/raprov/functions/internal/httpdoor"
	"github.com/raprov/raprov/shared/door/bulkdir/s3store/s3storetest"
	"github.com/raprov/raprov/shared/door/httpapi"
)

// s3Bucket returns an S3 client of the shared stand-in and a bucket of
// the test's own.
func s3Bucket(t *testing.T) (*s3.Client, string) {
	t.Helper()
	c := s3storetest.Client(t)
	return c, s3storetest.Bucket(t, c, "mappings-")
}

func put(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "senders", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The mapping files under the prefix become senders: the renamed ServiceNow
// layout is served under its own name, next to the built-in ones.
func TestLoadMappings(t *testing.T) {
	c, bucket := s3Bucket(t)
	ctx := context.Background()
	put(t, c, bucket, "mappings/", nil) // the console's folder marker
	put(t, c, bucket, "mappings/contoso.json", example(t, "servicenow-renamed.mapping.json"))
	put(t, c, bucket, "elsewhere/other.txt", []byte("not under the prefix"))

	files, err := httpdoor.LoadMappings(ctx, c, bucket, "mappings/")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Source != "s3://"+bucket+"/mappings/contoso.json" {
		t.Fatalf("files %+v", files)
	}
	senders, err := httpapi.SendersFrom(files)
	if err != nil {
		t.Fatal(err)
	}
	req, ferrs, err := senders["servicenow-contoso"](example(t, "servicenow-renamed.json"))
	if err != nil || len(ferrs) != 0 || req.UserPrincipalName != "ra-toronto-ivr@contoso.com" {
		t.Errorf("mapped %+v, %v, %v", req, ferrs, err)
	}
	if senders["servicenow"] == nil || senders["workday"] == nil {
		t.Error("the built-in senders are gone")
	}

	none, err := httpdoor.LoadMappings(ctx, c, bucket, "empty/")
	if err != nil || len(none) != 0 {
		t.Errorf("an empty prefix: %v, %v", none, err)
	}
}

// What does not belong under the prefix stops the load, naming the object,
// rather than leave part of the operator's mappings out.
func TestLoadMappingsRefuses(t *testing.T) {
	c, bucket := s3Bucket(t)
	ctx := context.Background()
	put(t, c, bucket, "a/contoso.json", example(t, "servicenow-renamed.mapping.json"))
	put(t, c, bucket, "a/notes.txt", []byte("hello"))
	put(t, c, bucket, "b/big.json", bytes.Repeat([]byte(" "), httpdoor.MaxMappingSize+1))
	for i := range httpdoor.MaxMappingFiles + 1 {
		put(t, c, bucket, "c/"+strings.Repeat("x", i+1)+".json", []byte("{}"))
	}
	for prefix, want := range map[string]string{
		"a/": "s3://" + bucket + "/a/notes.txt: not a .json mapping file",
		"b/": "s3://" + bucket + "/b/big.json: 262145 bytes",
		"c/": "more than 50 files",
	} {
		if _, err := httpdoor.LoadMappings(ctx, c, bucket, prefix); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("prefix %s: %v, want an error with %q", prefix, err, want)
		}
	}
	// A file that loads but does not parse is SendersFrom's error, with its URI.
	put(t, c, bucket, "d/bad.json", []byte(`{"name": "x", "nosuchkey": 1}`))
	files, err := httpdoor.LoadMappings(ctx, c, bucket, "d/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := httpapi.SendersFrom(files); err == nil || !strings.Contains(err.Error(), "s3://"+bucket+"/d/bad.json") {
		t.Errorf("SendersFrom: %v, want an error naming the object", err)
	}
}
