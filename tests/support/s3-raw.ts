import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'

/** Direct object access for tests that inspect or damage what the repository stored. */
export function rawBucket(config: S3ClientConfig, bucket: string) {
  const client = new S3Client({ ...config, requestChecksumCalculation: 'WHEN_REQUIRED' })
  return {
    async keys(prefix = ''): Promise<string[]> {
      const keys: string[] = []
      let token: string | undefined
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        )
        keys.push(...(page.Contents ?? []).flatMap((item) => (item.Key ? [item.Key] : [])))
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
      return keys
    },
    async get(key: string): Promise<string> {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      return (await response.Body?.transformToString()) ?? ''
    },
    async put(key: string, body: string): Promise<void> {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
    },
  }
}
