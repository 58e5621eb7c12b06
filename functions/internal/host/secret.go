package host

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Secret returns the value of the Secrets Manager secret whose ARN is in
// the variable arnVar (e.g. RAPROV_GRAPH_CLIENT_SECRET_ARN), "" when the
// variable is empty. Secrets are never environment variables themselves,
// and the value never reaches a log or an error.
func (h *Host) Secret(ctx context.Context, arnVar string) (string, error) {
	arn := h.getenv(arnVar)
	if arn == "" {
		return "", nil
	}
	c := secretsmanager.NewFromConfig(h.AWS, func(o *secretsmanager.Options) { o.BaseEndpoint = endpoint(h.getenv, "SECRETS_MANAGER") })
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return "", fmt.Errorf("%s: reading the secret: %w", arnVar, err)
	}
	if out.SecretString == nil || strings.TrimSpace(*out.SecretString) == "" {
		return "", fmt.Errorf("%s: the secret has no string value (store it as plain text, not binary)", arnVar)
	}
	return strings.TrimSpace(*out.SecretString), nil
}
