package secret_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/raprov/raprov/functions/internal/secret"
)

const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:raprov-graph-AbCdEf"

// secretsManager answers GetSecretValue for arn as Secrets Manager's JSON
// protocol does, and refuses every other id.
func secretsManager(t *testing.T, value string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
			http.Error(w, "unexpected target", http.StatusBadRequest)
			return
		}
		var in struct{ SecretId string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if in.SecretId != arn {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ARN": arn, "Name": "raprov-graph", "SecretString": value})
	}))
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
}

func config() aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("id", "key", ""), RetryMaxAttempts: 1}
}

func TestFromARNVar(t *testing.T) {
	secretsManager(t, " s3cr3t-value\n")
	ctx := context.Background()

	t.Setenv("RAPROV_TEST_SECRET_ARN", arn)
	if got, err := secret.FromARNVar(ctx, config(), "RAPROV_TEST_SECRET_ARN"); err != nil || got != "s3cr3t-value" {
		t.Fatalf("got %q, %v; want the trimmed value", got, err)
	}

	t.Setenv("RAPROV_TEST_SECRET_ARN", "")
	if got, err := secret.FromARNVar(ctx, config(), "RAPROV_TEST_SECRET_ARN"); err != nil || got != "" {
		t.Fatalf("unset variable: %q, %v; want none", got, err)
	}

	t.Setenv("RAPROV_TEST_SECRET_ARN", arn+"-other")
	_, err := secret.FromARNVar(ctx, config(), "RAPROV_TEST_SECRET_ARN")
	if err == nil || !strings.Contains(err.Error(), "RAPROV_TEST_SECRET_ARN") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("unknown secret: %v; want an error naming the variable, never a value", err)
	}
}

func TestEmptySecretIsRefused(t *testing.T) {
	secretsManager(t, "  ")
	t.Setenv("RAPROV_TEST_SECRET_ARN", arn)
	if _, err := secret.FromARNVar(context.Background(), config(), "RAPROV_TEST_SECRET_ARN"); err == nil || !strings.Contains(err.Error(), "no string value") {
		t.Fatalf("empty secret: %v", err)
	}
}
