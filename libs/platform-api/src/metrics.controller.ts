/** Prometheus text at GET /metrics on the API's HTTP port, from the registry the host provides (404 without one). */
import { Controller, Get, Inject, Optional, Res } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from './platform-api.tokens';

interface Response {
  status(code: number): Response;
  setHeader(name: string, value: string): void;
  send(body: string): void;
}

@Controller()
export class MetricsController {
  constructor(@Optional() @Inject(METRICS_REGISTRY) private readonly registry: Registry | null) {}

  @Get('metrics')
  async metrics(@Res() res: Response): Promise<void> {
    if (!this.registry) {
      res.status(404).send('no metrics\n');
      return;
    }
    const body = await this.registry.metrics();
    res.setHeader('content-type', this.registry.contentType);
    res.status(200).send(body);
  }
}
