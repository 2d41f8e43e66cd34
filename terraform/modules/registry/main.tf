# ECR repositories for the two images built from docker/. Tags are immutable: deploy by a new
# tag (e.g. the git commit), never by overwriting one.

locals {
  repositories = ["control-plane", "render-node"]
}

resource "aws_ecr_repository" "this" {
  for_each = toset(local.repositories)

  name                 = "${var.name}/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

# Deployed tags are never expired. ECR evaluates rules by priority, and an image selected by a
# higher-priority rule can no longer be expired by a lower one: each deployed tag gets its own
# first rule that keeps it (a count it can never exceed), then the newest keep_images tagged
# images are kept for rollbacks, and untagged layers go after a day.
locals {
  protected_rules = [
    for i, tag in var.protected_tags : {
      rulePriority = i + 1
      description  = "Deployed: keep ${tag}"
      selection = {
        tagStatus      = "tagged"
        tagPatternList = [tag]
        countType      = "imageCountMoreThan"
        countNumber    = 9999
      }
      action = { type = "expire" }
    }
  ]
  retention_rules = [
    {
      rulePriority = 100
      description  = "Drop untagged images after a day"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = 1
      }
      action = { type = "expire" }
    },
    {
      rulePriority = 200
      description  = "Keep the newest ${var.keep_images} other images (rollback targets)"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.keep_images
      }
      action = { type = "expire" }
    },
  ]
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy     = jsonencode({ rules = concat(local.protected_rules, local.retention_rules) })
}
