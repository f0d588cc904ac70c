import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../integrations/jira/auth/public.decorator.js';
import { MetricsService } from '../integrations/jira/metrics/metrics.service.js';

/** Prometheus scrape endpoint. Carries counts and latencies only, never team ids or secrets. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Public()
  @Get()
  async scrape(@Res() res: Response): Promise<void> {
    const body = await this.metrics.render();
    res.setHeader('content-type', this.metrics.registry.contentType);
    res.send(body);
  }
}
