// Package s3host builds the S3 client of a function that reads or writes
// S3 (intake: the bulk door's bucket, the sender mapping overrides),
// configured as the host's own clients are: the host's AWS configuration,
// and the endpoint override AWS_ENDPOINT_URL_S3 (else AWS_ENDPOINT_URL),
// path-style then, as the local stand-ins want. It stands apart from
// functions/internal/host so that only those functions link the client.
package s3host

import (
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/raprov/raprov/functions/internal/host"
)

// Client returns an S3 client for the function h hosts.
func Client(h *host.Host) *s3.Client {
	endpoint := host.Endpoint("S3")
	return s3.NewFromConfig(h.AWS, func(o *s3.Options) {
		if endpoint != nil {
			o.BaseEndpoint, o.UsePathStyle = endpoint, true
		}
	})
}
