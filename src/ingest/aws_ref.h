/*
 * aws_ref.h
 *		AWS ARNs -> correlate resource kinds and names (aws_ref.c).
 */
#ifndef CORRELATE_AWS_REF_H
#define CORRELATE_AWS_REF_H

/*
 * The resource kind of a (canonical) ARN: aws:s3:bucket, aws:s3:object,
 * aws:iam:role ... or aws:resource; NULL when it is not an ARN.  *rank tells
 * how specific the resource is (an object 3, most resources 2, unknown 1).
 */
extern const char *aws_arn_kind(const char *arn, int *rank);

/* The last component of an ARN's resource part. */
extern const char *aws_arn_name(const char *arn);

#endif							/* CORRELATE_AWS_REF_H */
