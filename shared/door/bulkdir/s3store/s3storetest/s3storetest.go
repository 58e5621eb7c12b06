// Package s3storetest gives tests an S3 client of the shared S3 stand-in
// (fauxqs, loopback only; infra/awslocal) and buckets of their own, as
// package sqstest does for SQS.
package s3storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/raprov/raprov/infra/awslocal"
)

// Client returns an S3 client of the shared stand-in, starting it if
// needed.
func Client(tb testing.TB) *s3.Client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := awslocal.SharedSQS(ctx) // fauxqs serves S3 too
	if err != nil {
		tb.Fatal(err)
	}
	return s3.New(s3.Options{
		Region:       awslocal.SQSRegion,
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "test"}, nil
		}),
		RetryMaxAttempts: 1,
	})
}

// Bucket creates a bucket of the test's own, named prefix + random hex.
func Bucket(tb testing.TB, c *s3.Client, prefix string) string {
	tb.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		tb.Fatal(err)
	}
	return name
}
