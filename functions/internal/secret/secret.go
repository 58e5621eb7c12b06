// Package secret reads the secrets of a Lambda function from Secrets
// Manager. Secrets are never environment variables themselves: a variable
// holds the secret's ARN, and the value never reaches a log or an error. It
// is its own package so that only the functions that hold a secret link
// the Secrets Manager client.
package secret

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// FromARNVar returns the value of the secret whose ARN is in the variable
// arnVar (e.g. RAPROV_GRAPH_CLIENT_SECRET_ARN), "" when the variable is
// empty. AWS_ENDPOINT_URL_SECRETS_MANAGER, else AWS_ENDPOINT_URL,
// overrides the endpoint.
func FromARNVar(ctx context.Context, cfg aws.Config, arnVar string) (string, error) {
	arn := os.Getenv(arnVar)
	if arn == "" {
		return "", nil
	}
	c := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		for _, v := range []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"} {
			if u := os.Getenv(v); u != "" {
				o.BaseEndpoint = &u
				return
			}
		}
	})
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return "", fmt.Errorf("%s: reading the secret: %w", arnVar, err)
	}
	if out.SecretString == nil || strings.TrimSpace(*out.SecretString) == "" {
		return "", fmt.Errorf("%s: the secret has no string value (store it as plain text, not binary)", arnVar)
	}
	return strings.TrimSpace(*out.SecretString), nil
}
