/** The tunnel protocol shared by the edge (workerd) and the portal (Node). See messages.ts. */
export * from './codec.ts';
export * from './messages.ts';
export * from './monitors.ts';
export * from './queries.ts';
export * from './responseAssembler.ts';
