#!/bin/bash
# LocalStack ready hook: the queues of the local stack, then the sample data (one message body per line).
set -euo pipefail

# The dead-letter queue keeps messages 14 days (SQS's longest): a message keeps its original enqueue time there.
awslocal sqs create-queue --queue-name login-queue-dlq --attributes MessageRetentionPeriod=1209600 >/dev/null
dlq_url=$(awslocal sqs get-queue-url --queue-name login-queue-dlq --query QueueUrl --output text)
dlq_arn=$(awslocal sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn \
  --query Attributes.QueueArn --output text)
awslocal sqs create-queue --queue-name login-queue \
  --attributes "{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"}" >/dev/null
queue_url=$(awslocal sqs get-queue-url --queue-name login-queue --query QueueUrl --output text)

sent=0
while IFS= read -r body || [ -n "$body" ]; do
  [ -n "$body" ] || continue
  awslocal sqs send-message --queue-url "$queue_url" --message-body "$body" >/dev/null
  sent=$((sent + 1))
done < /data/sample-messages.jsonl
echo "login-etl: created login-queue and login-queue-dlq, sent $sent sample messages"
