package httpdoor

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/raprov/raprov/shared/door/httpapi"
)

// Variables naming the sender mapping overrides of the door: every object
// whose key ends in .json under the prefix of the bucket is a mapping file
// (docs/senders.md) loaded over the built-in ServiceNow and Workday
// mappings once, at init. Unset bucket: the built-in mappings only.
const (
	MappingsBucketVar = "RAPROV_SENDER_MAPPINGS_BUCKET"
	MappingsPrefixVar = "RAPROV_SENDER_MAPPINGS_PREFIX"
)

// Limits of the mapping overrides: a prefix holding more files, or a file
// larger, fails the function's init rather than load part of them.
const (
	MaxMappingFiles = 50
	MaxMappingSize  = 256 << 10 // bytes
)

// MappingsAPI is what LoadMappings needs of an S3 client.
type MappingsAPI interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// LoadMappings reads the mapping files under prefix in bucket, in key
// order, for httpapi.SendersFrom. Folder markers (keys ending in "/") are
// skipped; any other object that is not a .json file, more than
// MaxMappingFiles files, or one over MaxMappingSize is an error naming its
// S3 URI, so the door never starts with part of what the operator put
// there. An empty prefix is no error: it overrides nothing.
func LoadMappings(ctx context.Context, api MappingsAPI, bucket, prefix string) ([]httpapi.MappingFile, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(api, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("sender mappings: list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			switch {
			case strings.HasSuffix(key, "/"):
				continue
			case !strings.HasSuffix(key, ".json"):
				return nil, fmt.Errorf("sender mapping s3://%s/%s: not a .json mapping file; only mapping files belong under s3://%s/%s", bucket, key, bucket, prefix)
			case aws.ToInt64(o.Size) > MaxMappingSize:
				return nil, fmt.Errorf("sender mapping s3://%s/%s: %d bytes, over the %d a mapping file may have", bucket, key, aws.ToInt64(o.Size), MaxMappingSize)
			}
			keys = append(keys, key)
			if len(keys) > MaxMappingFiles {
				return nil, fmt.Errorf("sender mappings: more than %d files under s3://%s/%s", MaxMappingFiles, bucket, prefix)
			}
		}
	}
	files := make([]httpapi.MappingFile, 0, len(keys))
	for _, key := range keys {
		src := "s3://" + bucket + "/" + key
		out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("sender mapping %s: %w", src, err)
		}
		body, err := io.ReadAll(io.LimitReader(out.Body, MaxMappingSize+1))
		out.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("sender mapping %s: %w", src, err)
		}
		if len(body) > MaxMappingSize {
			return nil, fmt.Errorf("sender mapping %s: over the %d bytes a mapping file may have", src, MaxMappingSize)
		}
		files = append(files, httpapi.MappingFile{Source: src, Body: body})
	}
	return files, nil
}
