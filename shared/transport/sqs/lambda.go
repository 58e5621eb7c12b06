package sqs

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// NewClient returns an SQS client for cfg (region, credentials, endpoint:
// aws.Config.BaseEndpoint or the client's own resolution).
func NewClient(cfg aws.Config) *sqs.Client { return sqs.NewFromConfig(cfg) }

// Start hands h to the Lambda runtime and serves invocations until the
// runtime ends the process; it does not return.
func Start(h Handler) { lambda.StartHandlerFunc(h) }
