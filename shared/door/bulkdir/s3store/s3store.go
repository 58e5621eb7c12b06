// Package s3store is bulkdir's Store on an S3 bucket prefix, for the
// scheduled bulk door on AWS (DESIGN §6: EventBridge Scheduler + S3).
//
// Layout under the prefix (docs/bulk.md):
//
//	<prefix><name>                          a request file (the inbox)
//	<prefix>.raprov/<name>.json             its state
//	<prefix>.raprov/scan.lock               the scan lock
//	<prefix>processed/<name>                the file, once every request ended
//	<prefix>processed/<name>.report.csv     its result report
//
// Only keys directly under the prefix are request files: deeper keys are
// never listed as such. An object is visible only once whole, so a file is
// read on the first pass that lists it. Reads are streamed (GetObject,
// If-Match the ETag listed, so a file replaced meanwhile is never read half
// old, half new). A move is a copy and a delete: CopyObject with
// x-amz-copy-source-if-match (only the version read moves), then
// DeleteObject with If-Match (a file uploaded again under the name
// meanwhile stays, and is read as a new one). The copy needs the object to
// be at most 5 GiB.
//
// The scan lock is an object created with If-None-Match: * (of two scans,
// one creates it, the other is busy), holding its holder's token and
// expiry. An expired lock is taken over with If-Match its ETag (one taker
// wins), and released with a DeleteObject If-Match the holder's ETag, so a
// holder that outlived its lock never releases its successor's. Expiries
// are compared on each scanner's clock.
package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/raprov/raprov/shared/door/bulkdir"
)

// API is what the store calls of an *s3.Client.
type API interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CopyObject(context.Context, *s3.CopyObjectInput, ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Store is a bulkdir.Store on a bucket prefix.
type Store struct {
	api    API
	bucket string
	prefix string
	// now is the clock of lock expiries.
	now func() time.Time
}

var _ bulkdir.Store = (*Store)(nil)

// New returns the store of bucket under prefix ("" for the whole bucket;
// a missing trailing '/' is added: "bulk" is "bulk/").
func New(api API, bucket, prefix string) (*Store, error) {
	if api == nil || bucket == "" {
		return nil, errors.New("s3store: no client or no bucket")
	}
	prefix = strings.TrimPrefix(prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Store{api: api, bucket: bucket, prefix: prefix, now: time.Now}, nil
}

// String returns s3://bucket/prefix.
func (s *Store) String() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s *Store) stateKey(name string) string {
	return s.prefix + bulkdir.StateDir + "/" + name + ".json"
}
func (s *Store) processedKey(name string) string {
	return s.prefix + bulkdir.ProcessedDir + "/" + name
}
func (s *Store) lockKey() string { return s.prefix + bulkdir.StateDir + "/scan.lock" }

// names lists the names of the objects directly under dir (a prefix
// ending in '/'), with their objects.
func (s *Store) names(ctx context.Context, dir string, each func(name string, o objectInfo)) error {
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(dir), Delimiter: aws.String("/")}
	for p := s3.NewListObjectsV2Paginator(s.api, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3store: list %s: %w", s.String(), err)
		}
		for _, o := range out.Contents {
			name, ok := strings.CutPrefix(aws.ToString(o.Key), dir)
			if ok && name != "" {
				each(name, objectInfo{size: aws.ToInt64(o.Size), mtime: aws.ToTime(o.LastModified), etag: aws.ToString(o.ETag)})
			}
		}
	}
	return nil
}

type objectInfo struct {
	size  int64
	mtime time.Time
	etag  string
}

// List implements bulkdir.Store.
func (s *Store) List(ctx context.Context) ([]bulkdir.File, error) {
	var files []bulkdir.File
	err := s.names(ctx, s.prefix, func(name string, o objectInfo) {
		if bulkdir.Candidate(name) {
			files = append(files, bulkdir.File{Name: name, Size: o.size, ModTime: o.mtime, ETag: o.etag, Complete: true})
		}
	})
	return files, err
}

// Open implements bulkdir.Store: the object's body, streamed.
func (s *Store) Open(ctx context.Context, f bulkdir.File) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + f.Name)}
	if f.ETag != "" {
		in.IfMatch = aws.String(f.ETag)
	}
	out, err := s.api.GetObject(ctx, in)
	switch status(err) {
	case 0:
		return out.Body, nil
	case 404, 412:
		return nil, bulkdir.ErrChanged
	default:
		return nil, fmt.Errorf("s3store: get %s: %w", f.Name, err)
	}
}

// LoadState implements bulkdir.Store.
func (s *Store) LoadState(ctx context.Context, name string) ([]byte, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.stateKey(name))})
	if status(err) == 404 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("s3store: state of %s: %w", name, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("s3store: state of %s: %w", name, err)
	}
	return b, nil
}

// SaveState implements bulkdir.Store (one PutObject: atomic).
func (s *Store) SaveState(ctx context.Context, name string, data []byte) error {
	if err := s.put(ctx, s.stateKey(name), data, "application/json"); err != nil {
		return fmt.Errorf("s3store: state of %s: %w", name, err)
	}
	return nil
}

// RemoveState implements bulkdir.Store.
func (s *Store) RemoveState(ctx context.Context, name string) error {
	_, err := s.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.stateKey(name))})
	if err != nil && status(err) != 404 {
		return fmt.Errorf("s3store: remove the state of %s: %w", name, err)
	}
	return nil
}

// States implements bulkdir.Store.
func (s *Store) States(ctx context.Context) ([]string, error) {
	var names []string
	err := s.names(ctx, s.prefix+bulkdir.StateDir+"/", func(n string, _ objectInfo) {
		if name, ok := strings.CutSuffix(n, ".json"); ok && bulkdir.Candidate(name) {
			names = append(names, name)
		}
	})
	return names, err
}

// Taken implements bulkdir.Store.
func (s *Store) Taken(ctx context.Context, name string) (bool, error) {
	_, err := s.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.processedKey(name))})
	switch status(err) {
	case 0:
		return true, nil
	case 404:
		return false, nil
	default:
		return false, fmt.Errorf("s3store: head processed/%s: %w", name, err)
	}
}

// WriteProcessed implements bulkdir.Store.
func (s *Store) WriteProcessed(ctx context.Context, name string, data []byte) error {
	ct := "application/octet-stream"
	if strings.HasSuffix(name, ".csv") {
		ct = "text/csv; charset=utf-8"
	}
	if err := s.put(ctx, s.processedKey(name), data, ct); err != nil {
		return fmt.Errorf("s3store: write processed/%s: %w", name, err)
	}
	return nil
}

// Move implements bulkdir.Store: a copy of the version listed, then a
// delete of that version only.
func (s *Store) Move(ctx context.Context, f bulkdir.File, target string) error {
	in := &s3.CopyObjectInput{
		Bucket:     &s.bucket,
		Key:        aws.String(s.processedKey(target)),
		CopySource: aws.String(copySource(s.bucket, s.prefix+f.Name)),
	}
	if f.ETag != "" {
		in.CopySourceIfMatch = aws.String(f.ETag)
	}
	_, err := s.api.CopyObject(ctx, in)
	switch status(err) {
	case 0:
	case 404, 412:
		return bulkdir.ErrChanged
	default:
		return fmt.Errorf("s3store: copy %s to processed/%s: %w", f.Name, target, err)
	}
	del := &s3.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + f.Name)}
	if f.ETag != "" {
		del.IfMatch = aws.String(f.ETag)
	}
	_, err = s.api.DeleteObject(ctx, del)
	switch status(err) {
	case 0, 404, 412: // moved; or uploaded again since: the new file stays
		return nil
	default:
		return fmt.Errorf("s3store: delete %s (copied to processed/%s): %w", f.Name, target, err)
	}
}

// copySource is CopyObject's x-amz-copy-source: bucket/key, each segment
// of the key URL-encoded ('+' too, which S3 would read as a space).
func copySource(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(seg), "+", "%2B")
	}
	return bucket + "/" + strings.Join(segs, "/")
}

// lock is the scan lock object's content.
type lock struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// Lock implements bulkdir.Store (see the package doc).
func (s *Store) Lock(ctx context.Context, ttl time.Duration) (func(), error) {
	tok := make([]byte, 12)
	rand.Read(tok)
	body, _ := json.Marshal(lock{Owner: hex.EncodeToString(tok), Expires: s.now().Add(ttl).UTC()})
	key := s.lockKey()
	for range 3 {
		etag, err := s.putLock(ctx, key, body, &s3.PutObjectInput{IfNoneMatch: aws.String("*")})
		if err == nil {
			return s.unlock(key, etag), nil
		}
		if !errors.Is(err, bulkdir.ErrBusy) {
			return nil, err
		}
		// Held: by a live holder, or expired.
		cur, curETag, err := s.readLock(ctx, key)
		if err != nil {
			return nil, err
		}
		if curETag == "" {
			continue // released meanwhile
		}
		if cur != nil && s.now().Before(cur.Expires) {
			return nil, bulkdir.ErrBusy
		}
		etag, err = s.putLock(ctx, key, body, &s3.PutObjectInput{IfMatch: aws.String(curETag)})
		switch {
		case err == nil:
			return s.unlock(key, etag), nil
		case errors.Is(err, errGone):
			continue // released meanwhile
		default:
			return nil, err // ErrBusy: another scan took it over first
		}
	}
	return nil, bulkdir.ErrBusy
}

// errGone: a write If-Match found no object.
var errGone = errors.New("s3store: no such key")

// putLock writes the lock under a condition: ErrBusy when it does not hold
// (412, or 409 for a concurrent conditional write), errGone when there is
// no lock to match.
func (s *Store) putLock(ctx context.Context, key string, body []byte, cond *s3.PutObjectInput) (string, error) {
	out, err := s.putObject(ctx, key, body, "application/json", cond)
	switch status(err) {
	case 0:
		return aws.ToString(out.ETag), nil
	case 404:
		return "", errGone
	case 409, 412:
		return "", bulkdir.ErrBusy
	default:
		return "", fmt.Errorf("s3store: lock: %w", err)
	}
}

// readLock returns the lock and its ETag; "" when there is none. A lock it
// cannot read counts as expired.
func (s *Store) readLock(ctx context.Context, key string) (*lock, string, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if status(err) == 404 {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("s3store: lock: %w", err)
	}
	defer out.Body.Close()
	var l lock
	if err := json.NewDecoder(io.LimitReader(out.Body, 1<<10)).Decode(&l); err != nil {
		return nil, aws.ToString(out.ETag), nil
	}
	return &l, aws.ToString(out.ETag), nil
}

// unlock returns the release of the lock written with etag: a delete If-Match
// etag, so that a lock taken over after it expired stays its new holder's.
func (s *Store) unlock(key, etag string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			// The pass's context may be over: release on a context of its own.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = s.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key, IfMatch: aws.String(etag)})
		})
	}
}

func (s *Store) put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := s.putObject(ctx, key, data, contentType, nil)
	return err
}

// putObject puts data at key, with cond's IfMatch and IfNoneMatch when
// cond is not nil.
func (s *Store) putObject(ctx context.Context, key string, data []byte, contentType string, cond *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(contentType),
	}
	if cond != nil {
		in.IfMatch, in.IfNoneMatch = cond.IfMatch, cond.IfNoneMatch
	}
	return s.api.PutObject(ctx, in)
}

// status is the HTTP status of an S3 error: 0 for no error, -1 for an
// error without one (the network, the context).
func status(err error) int {
	if err == nil {
		return 0
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return -1
}
